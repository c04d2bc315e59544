/* persist.c — the journal while the node runs: records, writes, held replies, fsync
 * requests, snapshots by fork (see persist.h). Recovery is persist_load.c. */
#include "persist.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "causalkv/clock.h"
#include "causalkv/journal_codec.h"
#include "causalkv/log.h"
#include "fsync_thread.h"
#include "persist_load.h"

#define SNAPSHOT_CHUNK (1u << 20)     /* the child writes in pieces of this size */
#define SNAPSHOT_RETRY_US 60000000ull /* after a failed snapshot, wait this long */
#define LOCK_FILE "LOCK"

typedef struct held_reply {
    ckv_req *req;
    int status;
    ckv_sbuf body;
    uint64_t pos; /* journal position its write's records end at */
} held_reply;

struct ckv_persist {
    struct event_base *base;
    ckv_replica *r;
    ckv_replica_journal hooks;
    char dir[256];
    int dir_fd, lock_fd;
    int fsync_mode;
    uint64_t snapshot_min_bytes;
    /* the segment being appended to */
    int fd;
    uint64_t seg, seg_bytes, first_seg;
    uint64_t journal_bytes, snapshot_bytes;
    ckv_sbuf buf;         /* records not written yet; position = pos_written + buf.len */
    uint64_t pos_written; /* bytes handed to write(2) since start */
    uint64_t pos_sync_asked;
    bool rotating; /* the old segment is syncing: the new one waits, so disk order = log order */
    uint64_t rotate_pos;
    bool failing; /* the last write failed: writes refused, retried each second */
    bool broken;  /* an fsync failed or memory ran out: records may be lost; restart */
    int fail_errno;
    uint64_t write_errors;
    held_reply *held;
    size_t held_head, held_len, held_cap;
    struct event *flush_ev, *notify_ev, *child_ev;
    ckv_fsync_thread *bio;
    ckv_fsync_result fsync;
    pid_t child;
    uint64_t child_next_seg, child_start_us, snapshot_after_us;
    uint64_t snapshots;
    double last_snapshot_unix, last_snapshot_seconds;
    uint64_t recovered_versions;
};

static uint64_t journal_pos(const ckv_persist *p)
{
    return p->pos_written + p->buf.len;
}

/* ---- held replies ---------------------------------------------------------------------- */

static void answer_held(ckv_persist *p, held_reply *h, bool ok)
{
    if (ok) {
        ckv_reply(h->req, h->status, &h->body);
        return;
    }
    ckv_sbuf_free(&h->body);
    ckv_reply_error_here(h->req, 503, "Unable to satisfy request", &p->r->map);
}

/* Answers, in order, the held replies whose records are as durable as FSYNC asks. */
static void release_ready(ckv_persist *p)
{
    uint64_t ready = p->fsync_mode == CKV_FSYNC_ALWAYS ? p->fsync.durable_pos : p->pos_written;
    while (p->held_len > 0 && p->held[p->held_head].pos <= ready) {
        held_reply h = p->held[p->held_head];
        p->held_head++;
        p->held_len--;
        answer_held(p, &h, true);
    }
    if (p->held_len == 0)
        p->held_head = 0;
}

static void fail_held(ckv_persist *p)
{
    while (p->held_len > 0) {
        held_reply h = p->held[p->held_head++];
        p->held_len--;
        answer_held(p, &h, false);
    }
    p->held_head = 0;
}

static int hold(ckv_persist *p, ckv_req *req, int status, ckv_sbuf *body)
{
    if (p->held_head > 0 && p->held_head + p->held_len == p->held_cap) {
        memmove(p->held, p->held + p->held_head, p->held_len * sizeof(*p->held));
        p->held_head = 0;
    }
    if (p->held_len == p->held_cap) {
        size_t cap = p->held_cap ? p->held_cap * 2 : 64;
        held_reply *n = realloc(p->held, cap * sizeof(*n));
        if (n == NULL)
            return CKV_NOMEM;
        p->held = n;
        p->held_cap = cap;
    }
    p->held[p->held_head + p->held_len++] =
        (held_reply){.req = req, .status = status, .body = *body, .pos = journal_pos(p)};
    ckv_sbuf_init(body);
    return CKV_OK;
}

/* ---- writing --------------------------------------------------------------------------- */

static void mark_broken(ckv_persist *p, const char *why)
{
    if (!p->broken)
        log_error("journal in %s: %s; refusing writes until the node is restarted", p->dir, why);
    p->broken = true;
    fail_held(p);
}

static void mark_failing(ckv_persist *p, int err)
{
    if (!p->failing)
        log_error("journal in %s: cannot write: %s; refusing writes, retrying each second", p->dir,
                  strerror(err));
    p->failing = true;
    p->fail_errno = err;
    p->write_errors++;
    fail_held(p);
}

static int write_all(int fd, const char *data, size_t len)
{
    size_t done = 0;
    while (done < len) {
        ssize_t n = write(fd, data + done, len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        done += (size_t)n;
    }
    return 0;
}

/* Writes the buffer; on failure cuts the segment back to its last whole record, so a
 * later success continues a clean file, and keeps the records for the retry. */
static void flush(ckv_persist *p)
{
    if (p->rotating || p->buf.len == 0 || p->broken) {
        release_ready(p);
        return;
    }
    if (write_all(p->fd, p->buf.data, p->buf.len) != 0) {
        int err = errno;
        if (ftruncate(p->fd, (off_t)p->seg_bytes) != 0)
            mark_broken(p, "cannot cut a partly written record off the journal");
        mark_failing(p, err);
        return;
    }
    p->seg_bytes += p->buf.len;
    p->journal_bytes += p->buf.len;
    p->pos_written += p->buf.len;
    p->buf.len = 0;
    if (p->failing)
        log_info("journal in %s: writable again; accepting writes", p->dir);
    p->failing = false;
    if (p->fsync_mode == CKV_FSYNC_ALWAYS && p->pos_written > p->pos_sync_asked &&
        ckv_fsync_thread_submit(p->bio, p->fd, -1, p->pos_written, false) == CKV_OK)
        p->pos_sync_asked = p->pos_written;
    release_ready(p);
}

static void on_flush(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    flush(arg);
}

static void on_fsync_done(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    ckv_persist *p = arg;
    uint64_t errors = p->fsync.errors;
    ckv_fsync_thread_collect(p->bio, &p->fsync);
    if (p->fsync.errors > errors)
        mark_broken(p, strerror(p->fsync.last_errno));
    if (p->rotating && p->fsync.durable_pos >= p->rotate_pos) {
        p->rotating = false;
        flush(p);
    }
    release_ready(p);
}

/* Every record lands in the buffer; the flush runs before the loop next waits, so before
 * any reply written in this iteration reaches its socket. */
static void appended(ckv_persist *p)
{
    if (ckv_sbuf_failed(&p->buf)) {
        mark_broken(p, "out of memory for journal records");
        return;
    }
    event_active(p->flush_ev, EV_TIMEOUT, 0);
}

/* A record the codec refuses cannot happen with a valid configuration (config.c bounds
 * values); if one does, the journal no longer holds the whole history. */
static void put_failed(ckv_persist *p, int rc)
{
    if (rc != CKV_OK)
        mark_broken(p, rc == CKV_NOMEM ? "out of memory for journal records"
                                       : "a record the journal cannot hold");
}

static void on_version(void *arg, const ckv_version *v, bool advances)
{
    ckv_persist *p = arg;
    put_failed(p, ckv_jrec_put_version(&p->buf, v, advances));
    appended(p);
}

static void on_clock(void *arg, const ckv_vclock *clock)
{
    ckv_persist *p = arg;
    ckv_jrec rec = {.type = CKV_JREC_CLOCK, .clock = *clock};
    put_failed(p, ckv_jrec_put(&p->buf, &rec));
    appended(p);
}

/* The map, then the whole store the epoch starts from (usually empty or the base). */
static void put_state(ckv_sbuf *b, const ckv_replica *r, uint64_t *count, int fd)
{
    ckv_jrec rec = {
        .type = CKV_JREC_EPOCH, .map = r->map, .base_lamport = r->lamport, .has_base = r->has_base};
    ckv_jrec_put(b, &rec);
    rec = (ckv_jrec){.type = CKV_JREC_CLOCK, .clock = r->clock};
    ckv_jrec_put(b, &rec);
    size_t cursor = 0;
    for (const ckv_version *v; (v = ckv_store_next(r->store, &cursor)) != NULL;) {
        ckv_jrec_put_version(b, v, false);
        (*count)++;
        if (fd >= 0 && b->len >= SNAPSHOT_CHUNK) {
            if (write_all(fd, b->data, b->len) != 0)
                b->failed = true;
            b->len = 0;
        }
    }
}

static void on_epoch(void *arg, const ckv_replica *r)
{
    ckv_persist *p = arg;
    uint64_t count = 0;
    put_state(&p->buf, r, &count, -1);
    appended(p);
}

static void on_base_held(void *arg)
{
    ckv_persist *p = arg;
    ckv_jrec rec = {.type = CKV_JREC_BASE_HELD};
    put_failed(p, ckv_jrec_put(&p->buf, &rec));
    appended(p);
}

/* ---- segments and snapshots ------------------------------------------------------------ */

static int open_segment(ckv_persist *p, uint64_t seg, bool create)
{
    char name[32];
    ckv_segment_name(seg, name, sizeof(name));
    int flags = O_WRONLY | O_APPEND | O_CLOEXEC | (create ? O_CREAT | O_TRUNC : 0);
    return openat(p->dir_fd, name, flags, 0644);
}

/* Moves appends to a new segment; the old one is synced (and closed) by the thread
 * before anything is written to the new one. The buffer must be empty. */
static int rotate(ckv_persist *p)
{
    int fd = open_segment(p, p->seg + 1, true);
    if (fd < 0) {
        log_warn("journal in %s: cannot start a new segment: %s", p->dir, strerror(errno));
        return CKV_ERROR;
    }
    if (ckv_fsync_thread_submit(p->bio, p->fd, p->dir_fd, p->pos_written, true) != CKV_OK) {
        close(fd);
        return CKV_ERROR;
    }
    p->fd = fd;
    p->seg++;
    p->seg_bytes = 0;
    p->rotating = true;
    p->rotate_pos = p->pos_written;
    ckv_sbuf_add(&p->buf, CKV_JOURNAL_MAGIC, CKV_JOURNAL_MAGIC_LEN);
    return CKV_OK;
}

/* In the child: the replica as the fork saw it, to snapshot.tmp, renamed when whole. */
int ckv_snapshot_write(int fd, const ckv_replica *r, uint64_t next_segment)
{
    ckv_sbuf b;
    ckv_sbuf_init(&b);
    ckv_sbuf_add(&b, CKV_JOURNAL_MAGIC, CKV_JOURNAL_MAGIC_LEN);
    ckv_jrec rec = {.type = CKV_JREC_SNAPSHOT, .next_segment = next_segment, .lamport = r->lamport};
    ckv_jrec_put(&b, &rec);
    uint64_t count = 0;
    put_state(&b, r, &count, fd);
    rec = (ckv_jrec){.type = CKV_JREC_END, .count = count};
    ckv_jrec_put(&b, &rec);
    int rc = !ckv_sbuf_failed(&b) && write_all(fd, b.data, b.len) == 0 ? CKV_OK : CKV_ERROR;
    ckv_sbuf_free(&b);
    return rc;
}

static int write_snapshot(const ckv_persist *p, uint64_t next_segment)
{
    int fd = openat(p->dir_fd, CKV_SNAPSHOT_TMP, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return 1;
    int rc = ckv_snapshot_write(fd, p->r, next_segment) == CKV_OK && fdatasync(fd) == 0 ? 0 : 1;
    close(fd);
    if (rc == 0 && (renameat(p->dir_fd, CKV_SNAPSHOT_TMP, p->dir_fd, CKV_SNAPSHOT_FILE) != 0 ||
                    fsync(p->dir_fd) != 0))
        rc = 1;
    return rc;
}

static void start_snapshot(ckv_persist *p)
{
    flush(p);
    if (p->buf.len > 0 || p->failing || rotate(p) != CKV_OK)
        return;
    uint64_t next = p->seg;
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        /* a node killed mid-snapshot must be restartable at once: the child neither
         * outlives it nor keeps its DATA_DIR lock */
        close(p->lock_fd);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(1);
        _exit(write_snapshot(p, next)); /* no atexit handlers, no libevent teardown */
    }
    if (pid < 0) {
        log_warn("journal in %s: cannot fork for a snapshot: %s", p->dir, strerror(errno));
        p->snapshot_after_us = ckv_mono_us() + SNAPSHOT_RETRY_US;
        return;
    }
    p->child = pid;
    p->child_next_seg = next;
    p->child_start_us = ckv_mono_us();
    log_info("snapshot of %zu keys started (journal %.1f MB in %llu segments)",
             ckv_store_live_count(p->r->store) + ckv_store_tombstone_count(p->r->store),
             (double)p->journal_bytes / 1e6, (unsigned long long)(next - p->first_seg));
}

/* The snapshot covers every segment before child_next_seg: those go. */
static void snapshot_done(ckv_persist *p)
{
    for (uint64_t s = p->first_seg; s < p->child_next_seg; s++) {
        char name[32];
        ckv_segment_name(s, name, sizeof(name));
        struct stat st;
        if (fstatat(p->dir_fd, name, &st, 0) == 0 && (uint64_t)st.st_size <= p->journal_bytes)
            p->journal_bytes -= (uint64_t)st.st_size;
        unlinkat(p->dir_fd, name, 0);
    }
    p->first_seg = p->child_next_seg;
    struct stat st;
    p->snapshot_bytes =
        fstatat(p->dir_fd, CKV_SNAPSHOT_FILE, &st, 0) == 0 ? (uint64_t)st.st_size : 0;
    p->snapshots++;
    p->last_snapshot_unix = (double)time(NULL);
    p->last_snapshot_seconds = (double)(ckv_mono_us() - p->child_start_us) / 1e6;
    log_info("snapshot written: %.1f MB in %.2f s; journal folded into it",
             (double)p->snapshot_bytes / 1e6, p->last_snapshot_seconds);
}

static void reap_child(ckv_persist *p, bool wait)
{
    int status;
    pid_t got = waitpid(p->child, &status, wait ? 0 : WNOHANG);
    if (got == 0 || (got < 0 && errno == EINTR))
        return;
    if (got == p->child && WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        snapshot_done(p);
    } else {
        log_error("snapshot in %s failed (%s %d); the journal is kept, retrying in %llu s", p->dir,
                  got == p->child && WIFSIGNALED(status) ? "signal" : "exit",
                  got == p->child && WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status),
                  SNAPSHOT_RETRY_US / 1000000);
        p->snapshot_after_us = ckv_mono_us() + SNAPSHOT_RETRY_US;
    }
    p->child = 0;
}

/* The snapshot's duration is its child's life: reap it as soon as it ends. */
static void on_child(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    ckv_persist *p = arg;
    if (p->child > 0)
        reap_child(p, false);
}

void ckv_persist_cron(ckv_persist *p)
{
    if (p == NULL)
        return;
    if (p->failing)
        flush(p);
    if (p->fsync_mode == CKV_FSYNC_EVERYSEC && !p->rotating && p->pos_written > p->pos_sync_asked &&
        ckv_fsync_thread_submit(p->bio, p->fd, -1, p->pos_written, false) == CKV_OK)
        p->pos_sync_asked = p->pos_written;
    if (p->child > 0)
        reap_child(p, false);
    uint64_t limit =
        p->snapshot_bytes > p->snapshot_min_bytes ? p->snapshot_bytes : p->snapshot_min_bytes;
    if (p->child == 0 && !p->rotating && !p->failing && !p->broken && p->journal_bytes > limit &&
        ckv_mono_us() >= p->snapshot_after_us)
        start_snapshot(p);
}

/* ---- opening and closing --------------------------------------------------------------- */

static int open_dir(ckv_persist *p, char *err, size_t errlen)
{
    if (mkdir(p->dir, 0755) != 0 && errno != EEXIST) {
        snprintf(err, errlen, "DATA_DIR %s: cannot create: %s", p->dir, strerror(errno));
        return CKV_ERROR;
    }
    p->dir_fd = open(p->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (p->dir_fd < 0) {
        snprintf(err, errlen, "DATA_DIR %s: %s", p->dir, strerror(errno));
        return CKV_ERROR;
    }
    /* two nodes appending to one journal would interleave their histories */
    p->lock_fd = openat(p->dir_fd, LOCK_FILE, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (p->lock_fd < 0 || flock(p->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        snprintf(err, errlen, "DATA_DIR %s: %s", p->dir,
                 p->lock_fd >= 0 && errno == EWOULDBLOCK ? "in use by another causalkv process"
                                                         : strerror(errno));
        return CKV_ERROR;
    }
    return CKV_OK;
}

static bool same_view(const ckv_shard_map *a, const ckv_shard_map *b)
{
    if (a->view.n != b->view.n || a->rf != b->rf)
        return false;
    for (uint32_t i = 0; i < a->view.n; i++)
        if (strcmp(a->view.addrs[i], b->view.addrs[i]) != 0)
            return false;
    return true;
}

/* At epoch 0 the data belongs to the VIEW it was written under; after a view change the
 * journal knows the view in force better than the environment does. */
static int check_view(const ckv_shard_map *configured, const ckv_replica *r, const char *dir,
                      char *err, size_t errlen)
{
    if (r->map.epoch > 0 || same_view(configured, &r->map))
        return CKV_OK;
    snprintf(err, errlen,
             "DATA_DIR %s holds data of another VIEW or REPL_FACTOR (%u members, factor %u, "
             "first %s) at epoch 0: start with that view, or with an empty DATA_DIR",
             dir, r->map.view.n, r->map.rf, r->map.view.addrs[0]);
    return CKV_ERROR;
}

static int recover(ckv_persist *p, const ckv_config *cfg, char *err, size_t errlen)
{
    ckv_shard_map configured = p->r->map;
    uint64_t t0 = ckv_mono_us();
    ckv_load_result res;
    if (ckv_persist_load(p->dir_fd, p->dir, cfg->load_truncated, p->r, &res, err, errlen) != CKV_OK)
        return CKV_ERROR;
    p->seg = p->first_seg = res.last_segment;
    p->journal_bytes = res.journal_bytes;
    p->snapshot_bytes = res.snapshot_bytes;
    p->recovered_versions = res.versions;
    if (!res.found)
        return CKV_OK;
    p->first_seg = res.first_segment;
    if (check_view(&configured, p->r, p->dir, err, errlen) != CKV_OK)
        return CKV_ERROR;
    ckv_replica_recovered(p->r);
    log_info("recovered %llu versions from %s in %.2f s: %zu live keys, epoch %llu, own counter "
             "%llu%s",
             (unsigned long long)res.versions, p->dir, (double)(ckv_mono_us() - t0) / 1e6,
             ckv_store_live_count(p->r->store), (unsigned long long)p->r->map.epoch,
             p->r->self >= 0 ? (unsigned long long)p->r->clock.c[p->r->self] : 0ull,
             res.dropped_bytes ? " (damaged bytes dropped: see above)" : "");
    p->fd = open_segment(p, p->seg, false);
    if (p->fd < 0 && errno != ENOENT) {
        snprintf(err, errlen, "DATA_DIR %s: cannot open the journal: %s", p->dir, strerror(errno));
        return CKV_ERROR;
    }
    p->seg_bytes = res.segment_bytes;
    return CKV_OK;
}

/* A fresh directory (or one whose last segment went with a snapshot) gets a segment
 * that starts with the state in force, written and synced before the node serves. */
static int start_segment(ckv_persist *p, char *err, size_t errlen)
{
    p->fd = open_segment(p, p->seg, true);
    if (p->fd < 0) {
        snprintf(err, errlen, "DATA_DIR %s: cannot create the journal: %s", p->dir,
                 strerror(errno));
        return CKV_ERROR;
    }
    p->seg_bytes = 0;
    ckv_sbuf_add(&p->buf, CKV_JOURNAL_MAGIC, CKV_JOURNAL_MAGIC_LEN);
    uint64_t count = 0;
    put_state(&p->buf, p->r, &count, -1);
    if (ckv_sbuf_failed(&p->buf)) {
        snprintf(err, errlen, "out of memory writing the journal's first records");
        return CKV_ERROR;
    }
    flush(p);
    if (p->buf.len > 0 || fdatasync(p->fd) != 0 || fsync(p->dir_fd) != 0) {
        snprintf(err, errlen, "DATA_DIR %s: cannot write the journal: %s", p->dir,
                 strerror(p->fail_errno ? p->fail_errno : errno));
        return CKV_ERROR;
    }
    return CKV_OK;
}

static int start_events(ckv_persist *p, struct event_base *base)
{
    p->bio = ckv_fsync_thread_start();
    if (p->bio == NULL)
        return CKV_ERROR;
    p->flush_ev = event_new(base, -1, 0, on_flush, p);
    p->notify_ev =
        event_new(base, ckv_fsync_thread_notify_fd(p->bio), EV_READ | EV_PERSIST, on_fsync_done, p);
    p->child_ev = evsignal_new(base, SIGCHLD, on_child, p);
    if (p->flush_ev == NULL || p->notify_ev == NULL || p->child_ev == NULL ||
        event_add(p->notify_ev, NULL) != 0 || event_add(p->child_ev, NULL) != 0)
        return CKV_ERROR;
    return CKV_OK;
}

ckv_persist *ckv_persist_open(struct event_base *base, const ckv_config *cfg, ckv_replica *r,
                              char *err, size_t errlen)
{
    ckv_persist *p = calloc(1, sizeof(*p));
    if (p == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    p->base = base;
    p->r = r;
    p->dir_fd = p->lock_fd = p->fd = -1;
    snprintf(p->dir, sizeof(p->dir), "%s", cfg->data_dir);
    p->fsync_mode = cfg->fsync_mode;
    p->snapshot_min_bytes = cfg->snapshot_min_bytes;
    ckv_sbuf_init(&p->buf);
    p->hooks = (ckv_replica_journal){.version = on_version,
                                     .clock = on_clock,
                                     .epoch = on_epoch,
                                     .base_held = on_base_held,
                                     .arg = p};
    if (open_dir(p, err, errlen) != CKV_OK) {
        ckv_persist_close(p);
        return NULL;
    }
    if (start_events(p, base) != CKV_OK) {
        snprintf(err, errlen, "cannot start the journal's fsync thread");
        ckv_persist_close(p);
        return NULL;
    }
    if (recover(p, cfg, err, errlen) != CKV_OK ||
        (p->fd < 0 && start_segment(p, err, errlen) != CKV_OK)) {
        ckv_persist_close(p);
        return NULL;
    }
    r->journal = &p->hooks;
    log_info("journal in %s: FSYNC=%s, %.1f MB since the last snapshot", p->dir,
             ckv_fsync_mode_name(p->fsync_mode), (double)p->journal_bytes / 1e6);
    return p;
}

void ckv_persist_close(ckv_persist *p)
{
    if (p == NULL)
        return;
    if (p->r->journal == &p->hooks)
        p->r->journal = NULL;
    if (p->child > 0) {
        kill(p->child, SIGKILL); /* its snapshot.tmp is removed at the next start */
        waitpid(p->child, NULL, 0);
    }
    if (p->bio != NULL)
        ckv_fsync_thread_drain(p->bio);
    p->rotating = false;
    flush(p);
    if (p->fd >= 0 && p->fsync_mode != CKV_FSYNC_NO && fdatasync(p->fd) != 0)
        log_error("journal in %s: fsync at shutdown failed: %s", p->dir, strerror(errno));
    p->fsync.durable_pos = p->pos_written;
    release_ready(p);
    fail_held(p);
    ckv_fsync_thread_stop(p->bio);
    if (p->flush_ev)
        event_free(p->flush_ev);
    if (p->notify_ev)
        event_free(p->notify_ev);
    if (p->child_ev)
        event_free(p->child_ev);
    int fds[] = {p->fd, p->lock_fd, p->dir_fd};
    for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
        if (fds[i] >= 0)
            close(fds[i]);
    ckv_sbuf_free(&p->buf);
    free(p->held);
    free(p);
}

/* ---- the node's side ------------------------------------------------------------------- */

bool ckv_persist_accepting(const ckv_persist *p)
{
    return p == NULL || (!p->failing && !p->broken);
}

void ckv_persist_reply(ckv_persist *p, ckv_req *req, int status, ckv_sbuf *body)
{
    if (p->broken || p->failing) {
        ckv_sbuf_free(body);
        ckv_reply_error_here(req, 503, "Unable to satisfy request", &p->r->map);
        return;
    }
    uint64_t ready = p->fsync_mode == CKV_FSYNC_ALWAYS ? p->fsync.durable_pos : p->pos_written;
    if (journal_pos(p) <= ready) {
        ckv_reply(req, status, body);
        return;
    }
    if (hold(p, req, status, body) != CKV_OK) {
        ckv_sbuf_free(body);
        ckv_reply_error_here(req, 503, "Unable to satisfy request", &p->r->map);
    }
}

void ckv_persist_get_stats(const ckv_persist *p, ckv_persist_stats *out)
{
    *out = (ckv_persist_stats){.journal_bytes = p->journal_bytes,
                               .snapshot_bytes = p->snapshot_bytes,
                               .snapshots = p->snapshots,
                               .last_snapshot_unix = p->last_snapshot_unix,
                               .last_snapshot_seconds = p->last_snapshot_seconds,
                               .fsyncs = p->fsync.fsyncs,
                               .fsync_seconds_sum = p->fsync.seconds_sum,
                               .fsync_seconds_max = p->fsync.seconds_max,
                               .write_errors = p->write_errors,
                               .failing = p->failing || p->broken,
                               .recovered_versions = p->recovered_versions};
}
