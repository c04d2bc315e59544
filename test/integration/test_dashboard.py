"""The dashboard (GET /dashboard) in a real headless Chromium, driven over the DevTools
protocol (cdp.py, python3 stdlib only):

  1 the page served by one node of a 3-node cluster (REPL_FACTOR=1) shows the view, its
    three shards, each replica up, and the key counts the nodes report
  2 the key browser: a PUT through one node, then a GET of the same key through another
    node; the GET carries the page's causal context in X-Causal-Context and reads the value
  3 the keyboard alone runs the key browser (Enter submits a GET); every control is labelled
  4 the view-change form previews how many keys would move (exactly, when shrinking)
  5 on a phone-sized screen nothing overflows sideways; screenshots, with load on the chart
  6 a killed node's tile turns "down" within 3 s, with a message naming it

Screenshots go to $CKV_ARTIFACT_DIR (default: artifacts/ in the working directory, which
is build-*/test under ctest); CKV_UPDATE_SCREENSHOT=1 also copies the desktop one to
docs/dashboard.png for the README."""

import json
import os
import shutil
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import ckvtest  # noqa: E402
from ckvtest import SOURCE_DIR, Cluster, CkvTestCase, keypath, request  # noqa: E402
from cdp import Browser  # noqa: E402
from shardhash import keys_for_shard  # noqa: E402

SLOT = ckvtest.slot(__file__)
ADDRS = SLOT.addrs(3)
ARTIFACTS = os.environ.get("CKV_ARTIFACT_DIR") or os.path.join(os.getcwd(), "artifacts")
DOWN_WITHIN = 3.0


def js_str(s):
    return json.dumps(s)


class Dashboard(CkvTestCase):
    @classmethod
    def setUpClass(cls):
        os.makedirs(ARTIFACTS, exist_ok=True)
        cls.c = Cluster(3, 1, addrs=ADDRS, name="dashboard")
        cls.browser = None
        try:
            for i in range(3):  # a few keys on every shard, through every node
                for k in keys_for_shard("dash%d" % i, i + 1, 3, 4 + 3 * i):
                    st, js, _, _ = request(ADDRS[(i + 1) % 3], "PUT", keypath(k), {"value": k})
                    assert st == 201, (st, js)
            cls.browser = Browser()
            cls.page = cls.browser.page()
            cls.page.call("Network.enable")
            cls.page.viewport(1280, 1000)
            cls.page.goto("http://%s/dashboard" % ADDRS[0])
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        if cls.browser is not None:
            cls.browser.close()
        cls.c.close_checked()

    def tearDown(self):
        self.assertEqual(self.page.errors, [], "errors in the page")
        self.assertEqual(self.c.crashed(), [], "a node died")

    def counts(self):
        return [request(a, "GET", "/kv-store/key-count")[1]["key-count"] for a in ADDRS]

    def tile(self, addr, what):
        return "document.querySelector('.replica[data-addr=%s]')%s" % (js_str(addr), what)

    def set_value(self, elem_id, value):
        self.page.eval("(() => { const e = document.getElementById(%s); e.value = %s; "
                       "e.dispatchEvent(new Event('input')); })()" % (js_str(elem_id),
                                                                      js_str(value)))

    # ------------------------------------------------------------------ 1
    def test_1_shards_and_counts(self):
        p = self.page
        p.wait_for("document.querySelectorAll('.replica[data-state=up]').length == 3", 15)
        counts = self.counts()
        self.assertEqual(counts, [4, 7, 10])
        for i, a in enumerate(ADDRS):
            shard = "document.querySelector('.shard[data-shard=\"%d\"]')" % (i + 1)
            p.wait_for("%s.querySelector('h3 .keys').textContent == '%d keys'"
                       % (shard, counts[i]), 10)
            self.assertEqual(p.eval("[...%s.querySelectorAll('.replica')].map(e => "
                                    "e.dataset.addr)" % shard), [a])
            self.assertEqual(p.eval(self.tile(a, ".querySelector('.keys').textContent")),
                             str(counts[i]))
            self.assertEqual(p.eval(self.tile(a, ".querySelector('.state').textContent")), "up")
        summary = p.eval("document.getElementById('summary').textContent")
        self.assertIn("epoch 0 · 3 nodes · 3 shards × 1 replicas · 3 answering", summary)
        self.assertTrue(p.eval("document.getElementById('banner').hidden"))

    # ------------------------------------------------------------------ 2
    def sent_headers(self, url_part, method):
        """Request headers of the last request the page sent to a URL containing url_part."""
        found = None
        for m in self.page.events:
            if m.get("method") != "Network.requestWillBeSent":
                continue
            req = m["params"]["request"]
            if url_part in req["url"] and req["method"] == method:
                found = {k.lower(): v for k, v in req["headers"].items()}
        return found

    def key_request(self, node, key, method, value=None, want=None):
        p = self.page
        self.set_value("key-node", node)
        self.set_value("key-name", key)
        if value is not None:
            self.set_value("key-value", value)
        p.eval("document.getElementById('key-result').dataset.status = ''")
        p.eval("document.getElementById('key-%s').click()" % method.lower())
        status = p.wait_for("document.getElementById('key-result').dataset.status", 15)
        if want is not None:
            self.assertEqual(int(status), want, p.eval(
                "document.getElementById('key-result').textContent"))
        return p.eval("document.getElementById('key-result').textContent")

    def test_2_key_browser_keeps_the_context_across_nodes(self):
        p = self.page
        p.eval("document.getElementById('ctx-reset').click()")
        key = keys_for_shard("kb", 3, 3, 1)[0]  # owned by ADDRS[2]: both requests forwarded
        self.key_request(ADDRS[0], key, "PUT", "from-the-page", want=201)
        ctx = p.eval("window.causalkvDashboard.context()")
        self.assertGreaterEqual(ctx["clock"].get(ADDRS[2], 0), 1, ctx)
        text = self.key_request(ADDRS[1], key, "GET", want=200)
        self.assertIn("value: from-the-page", text)
        self.assertIn("served by %s" % ADDRS[2], text)
        sent = self.sent_headers("%s/kv-store/keys/%s" % (ADDRS[1], key), "GET")
        self.assertIsNotNone(sent, "the GET through %s was not seen" % ADDRS[1])
        self.assertEqual(json.loads(sent["x-causal-context"]), ctx, sent)
        after = p.eval("window.causalkvDashboard.context()")
        self.assertTrue(ckvtest.ctx_ge(after, ctx), (after, ctx))
        # shown on request, in the page
        p.eval("document.getElementById('ctx-details').open = true")
        shown = json.loads(p.eval("document.getElementById('ctx').textContent"))
        self.assertEqual(shown, after)
        # and what the nodes hold agrees
        st, js, _, _ = request(ADDRS[1], "GET", keypath(key))
        self.assertEqual((st, js["value"]), (200, "from-the-page"))

    # ------------------------------------------------------------------ 3
    def test_3_keyboard(self):
        p = self.page
        unlabelled = p.eval("[...document.querySelectorAll('input,select,textarea')]"
                            ".filter(e => !e.labels || !e.labels.length).map(e => e.id)")
        self.assertEqual(unlabelled, [])
        key = keys_for_shard("kbd", 1, 3, 1)[0]
        request(ADDRS[0], "PUT", keypath(key), {"value": "typed"})
        self.set_value("key-node", ADDRS[0])
        p.eval("document.getElementById('key-result').dataset.status = ''")
        p.eval("document.getElementById('key-name').value = ''")
        p.eval("document.getElementById('key-name').focus()")
        p.call("Input.insertText", text=key)
        p.key("Enter")
        p.wait_for("document.getElementById('key-result').dataset.status == '200'", 15)
        self.assertIn("value: typed", p.eval("document.getElementById('key-result').textContent"))
        # Tab moves through the controls in order, the buttons included
        p.eval("document.getElementById('key-name').focus()")
        order = []
        for _ in range(4):
            p.key("Tab")
            order.append(p.eval("document.activeElement.id"))
        self.assertEqual(order, ["key-value", "key-get", "key-put", "key-delete"])

    # ------------------------------------------------------------------ 4
    def test_4_view_change_preview(self):
        p = self.page
        counts = self.counts()
        # the page's counts are at most a poll old: the keys of the tests above appear
        p.wait_for(self.tile(ADDRS[2], ".querySelector('.keys').textContent == '%d'"
                             % counts[2]), 10)
        self.set_value("vc-view", "%s\n%s" % (ADDRS[0], ADDRS[1]))
        self.set_value("vc-rf", "1")
        p.eval("document.getElementById('vc-preview').click()")
        text = p.wait_for("document.getElementById('vc-result').textContent", 5)
        self.assertIn("3 → 2 shards", text)
        self.assertIn("exactly %d keys change shard" % counts[2], text)
        self.assertFalse(p.eval("document.getElementById('vc-send').disabled"))
        self.set_value("vc-view", "%s,%s" % (ADDRS[0], ADDRS[0]))
        p.eval("document.getElementById('vc-preview').click()")
        self.assertIn("Listed twice", p.eval("document.getElementById('vc-result').textContent"))
        self.assertTrue(p.eval("document.getElementById('vc-send').disabled"))
        self.set_value("vc-view", "")

    # ------------------------------------------------------------------ 5
    def test_5_phone_and_screenshots(self):
        p = self.page
        stop = threading.Event()

        def load():
            i = 0
            while not stop.is_set():
                a = ADDRS[i % 3]
                try:
                    request(a, "PUT", keypath("load-%d" % (i % 50)), {"value": str(i)}, timeout=5)
                    request(a, "GET", keypath("load-%d" % (i % 50)), timeout=5)
                except OSError:
                    pass
                i += 1

        t = threading.Thread(target=load, daemon=True)
        t.start()
        try:
            p.wait_for("window.causalkvDashboard.history.filter(h => h.rps > 0).length >= 8", 30)
        finally:
            stop.set()
            t.join(10)
        p.wait_for("window.causalkvDashboard.history.slice(-1)[0].p99 !== null", 10)
        desktop = p.screenshot(os.path.join(ARTIFACTS, "dashboard.png"))
        if os.environ.get("CKV_UPDATE_SCREENSHOT") == "1":
            shutil.copyfile(desktop, os.path.join(SOURCE_DIR, "docs", "dashboard.png"))
        p.viewport(390, 844, mobile=True, scale=2)
        try:
            p.wait_for("document.querySelector('canvas').clientWidth <= 390", 5)
            wide = p.eval("[document.documentElement.scrollWidth, window.innerWidth]")
            self.assertLessEqual(wide[0], wide[1], "the page overflows a phone's width")
            p.screenshot(os.path.join(ARTIFACTS, "dashboard-phone.png"))
        finally:
            p.viewport(1280, 1000)

    # ------------------------------------------------------------------ 6
    def test_6_killed_node_turns_down(self):
        p = self.page
        victim = ADDRS[2]
        p.wait_for(self.tile(victim, ".dataset.state == 'up'"), 10)
        self.c.kill(victim)
        t0 = time.monotonic()
        p.wait_for(self.tile(victim, ".dataset.state == 'down'"), DOWN_WITHIN + 2)
        took = time.monotonic() - t0
        self.assertLess(took, DOWN_WITHIN, "tile turned down after %.1fs" % took)
        self.assertEqual(p.eval(self.tile(victim, ".querySelector('.state').textContent")),
                         "down")
        self.assertIn("unreachable", p.eval(self.tile(victim, ".querySelector('.why')"
                                                      ".textContent")))
        banner = p.wait_for("!document.getElementById('banner').hidden && "
                            "document.getElementById('banner').textContent", 3)
        self.assertIn(victim, banner)
        for a in ADDRS[:2]:
            self.assertEqual(p.eval(self.tile(a, ".dataset.state")), "up")
        p.screenshot(os.path.join(ARTIFACTS, "dashboard-node-down.png"))
        # the browser logs each failed poll of the dead node itself: expected, not the page's
        p.errors[:] = [e for e in p.errors
                       if not ("Failed to load resource: net::" in e and victim in e)]
        for a in ADDRS[:2]:
            self.assertEqual(request(a, "GET", "/healthz")[0], 200, a)


if __name__ == "__main__":
    unittest.main(verbosity=2)
