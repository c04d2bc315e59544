/* sd_notify.h — the service manager's readiness protocol, by hand (no libsystemd).
 *
 * Under systemd with Type=notify, $NOTIFY_SOCKET names a Unix datagram socket (a path,
 * or "@name" for the abstract namespace); each state change is one datagram of
 * newline-separated VARIABLE=value lines, e.g. "READY=1" or "STOPPING=1". Without
 * $NOTIFY_SOCKET this does nothing, so the node runs the same outside systemd. */
#ifndef CAUSALKV_SD_NOTIFY_H
#define CAUSALKV_SD_NOTIFY_H

/* Sends state to $NOTIFY_SOCKET without blocking. CKV_OK when sent, CKV_DECLINED when
 * the variable is unset or empty, CKV_ERROR (with a warning logged) otherwise. */
int ckv_sd_notify(const char *state);

#endif
