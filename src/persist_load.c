/* persist_load.c — reading DATA_DIR back into a replica at start (see persist_load.h). */
#include "persist_load.h"
#include "causalkv/errmsg.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "causalkv/journal_codec.h"
#include "causalkv/log.h"

#define SEGMENTS_MAX 4096 /* more means snapshots have not run for a very long time */

void ckv_segment_name(uint64_t seg, char *buf, size_t len)
{
    snprintf(buf, len, CKV_SEGMENT_FMT, (unsigned long long)seg);
}

/* The whole file in one buffer: recovery reads each byte once, in order. */
static int read_file(int dir_fd, const char *name, char **data, size_t *len)
{
    int fd = openat(dir_fd, name, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    struct stat st;
    if (fstat(fd, &st) != 0) {
        close(fd);
        return -1;
    }
    size_t size = (size_t)st.st_size;
    char *buf = malloc(size > 0 ? size : 1);
    size_t got = 0;
    while (buf != NULL && got < size) {
        ssize_t n = read(fd, buf + got, size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    close(fd);
    if (buf == NULL || got != size) {
        free(buf);
        errno = buf == NULL ? ENOMEM : EIO;
        return -1;
    }
    *data = buf;
    *len = size;
    return 0;
}

typedef struct file_scan {
    const char *name;
    bool last_file; /* the newest segment: its tail may be torn */
    size_t good;    /* bytes of whole records replayed */
    bool damaged;   /* stopped before the end for a reason other than a torn tail */
    const char *why;
} file_scan;

static size_t frame_size(const char *p)
{
    const uint8_t *u = (const uint8_t *)p;
    return CKV_JREC_HEADER + (size_t)((uint32_t)u[0] | (uint32_t)u[1] << 8 | (uint32_t)u[2] << 16 |
                                      (uint32_t)u[3] << 24);
}

/* Replays the records of one file after its magic; stops at the first one that does not
 * decode or replay, and says whether that is a torn tail. */
static int replay_records(const char *data, size_t len, ckv_replica *r, file_scan *fs,
                          uint64_t *versions)
{
    size_t off = CKV_JOURNAL_MAGIC_LEN;
    fs->good = off;
    while (off < len) {
        ckv_jrec rec;
        size_t used = 0;
        ckv_jrec_status st = ckv_jrec_decode(data + off, len - off, &rec, &used);
        if (st == CKV_JREC_NOMEM)
            return CKV_NOMEM;
        if (st != CKV_JREC_OK) {
            bool at_end = st == CKV_JREC_SHORT ||
                          (st == CKV_JREC_BAD_CRC && off + frame_size(data + off) == len);
            fs->damaged = !(at_end && fs->last_file);
            fs->why = st == CKV_JREC_SHORT     ? "incomplete record"
                      : st == CKV_JREC_BAD_CRC ? "CRC mismatch"
                                               : "invalid record";
            return CKV_OK;
        }
        int rc = ckv_replica_replay(r, &rec);
        if (rec.type == CKV_JREC_VERSION) {
            ckv_version_unref(rec.version);
            (*versions)++;
        }
        if (rc != CKV_OK) {
            fs->damaged = true;
            fs->why = "record does not fit the state before it";
            return CKV_OK;
        }
        off += used;
        fs->good = off;
    }
    return CKV_OK;
}

static int scan_segment(int dir_fd, file_scan *fs, ckv_replica *r, uint64_t *versions, size_t *size,
                        char *err, size_t errlen)
{
    char *data;
    size_t len;
    if (read_file(dir_fd, fs->name, &data, &len) != 0) {
        ckv_set_err(err, errlen, "cannot read %s: %s", fs->name, strerror(errno));
        return CKV_ERROR;
    }
    *size = len;
    int rc = CKV_OK;
    if (len < CKV_JOURNAL_MAGIC_LEN ||
        memcmp(data, CKV_JOURNAL_MAGIC, CKV_JOURNAL_MAGIC_LEN) != 0) {
        /* a segment is created and its magic written in one step: anything else here is
         * a file that is not ours, or one cut before its first byte reached the disk */
        bool empty_tail = fs->last_file && len < CKV_JOURNAL_MAGIC_LEN &&
                          memcmp(data, CKV_JOURNAL_MAGIC, len) == 0;
        fs->good = 0;
        fs->damaged = !empty_tail;
        fs->why = "not a causalkv journal (bad magic)";
    } else {
        rc = replay_records(data, len, r, fs, versions);
    }
    free(data);
    return rc;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Segment numbers in the directory, ascending. */
static int list_segments(const char *dir, uint64_t *segs, size_t *count, char *err, size_t errlen)
{
    DIR *d = opendir(dir);
    if (d == NULL) {
        ckv_set_err(err, errlen, "DATA_DIR %s: %s", dir, strerror(errno));
        return CKV_ERROR;
    }
    *count = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        unsigned long long seg;
        char tail;
        if (sscanf(e->d_name, "journal-%llu.ck%c", &seg, &tail) != 2 || tail != 'v')
            continue;
        char name[32];
        ckv_segment_name(seg, name, sizeof(name));
        if (strcmp(name, e->d_name) != 0)
            continue;
        if (*count == SEGMENTS_MAX) {
            closedir(d);
            ckv_set_err(err, errlen, "DATA_DIR %s holds more than %d journal segments", dir,
                        SEGMENTS_MAX);
            return CKV_ERROR;
        }
        segs[(*count)++] = seg;
    }
    closedir(d);
    qsort(segs, *count, sizeof(*segs), cmp_u64);
    return CKV_OK;
}

/* The snapshot is renamed into place only once complete: it must read to its END. */
static int load_snapshot(int dir_fd, ckv_replica *r, ckv_load_result *out, uint64_t *next_segment,
                         char *err, size_t errlen)
{
    char *data;
    size_t len;
    if (read_file(dir_fd, CKV_SNAPSHOT_FILE, &data, &len) != 0) {
        if (errno == ENOENT)
            return CKV_OK;
        ckv_set_err(err, errlen, "cannot read %s: %s", CKV_SNAPSHOT_FILE, strerror(errno));
        return CKV_ERROR;
    }
    size_t off = CKV_JOURNAL_MAGIC_LEN;
    bool ok = len >= off && memcmp(data, CKV_JOURNAL_MAGIC, off) == 0, ended = false;
    uint64_t count = 0, versions = 0;
    for (bool first = true; ok && off < len && !ended; first = false) {
        ckv_jrec rec;
        size_t used;
        ok = ckv_jrec_decode(data + off, len - off, &rec, &used) == CKV_JREC_OK;
        if (!ok)
            break;
        ok = (first == (rec.type == CKV_JREC_SNAPSHOT)) && ckv_replica_replay(r, &rec) == CKV_OK;
        if (rec.type == CKV_JREC_VERSION) {
            ckv_version_unref(rec.version);
            versions++;
        }
        if (rec.type == CKV_JREC_SNAPSHOT)
            *next_segment = rec.next_segment;
        ended = rec.type == CKV_JREC_END;
        count = rec.type == CKV_JREC_END ? rec.count : count;
        off += used;
    }
    free(data);
    if (!ok || !ended || off != len || count != versions) {
        ckv_set_err(err, errlen,
                    "%s is damaged near offset %zu; move it away to start from the journal alone "
                    "(only if the journal still holds everything since it was written)",
                    CKV_SNAPSHOT_FILE, off);
        return CKV_ERROR;
    }
    out->found = true;
    out->snapshot_bytes = len;
    out->versions += versions;
    return CKV_OK;
}

static int cut_file(int dir_fd, const char *name, size_t size)
{
    int fd = openat(dir_fd, name, O_WRONLY | O_CLOEXEC);
    int rc = fd >= 0 && ftruncate(fd, (off_t)size) == 0 && fdatasync(fd) == 0 ? 0 : -1;
    if (fd >= 0)
        close(fd);
    return rc;
}

/* What to do about a segment that stopped early: cut it (torn tail, or damage the
 * operator allowed to drop) and say how much went, or refuse. */
static int handle_stop(int dir_fd, const file_scan *fs, size_t size, bool load_truncated,
                       ckv_load_result *out, char *err, size_t errlen)
{
    if (fs->damaged && !load_truncated) {
        ckv_set_err(err, errlen,
                    "journal %s is damaged at offset %zu (%s); set DATA_LOAD_TRUNCATED=yes to "
                    "start without that record and everything after it",
                    fs->name, fs->good, fs->why);
        return CKV_ERROR;
    }
    log_warn("journal %s: %s at offset %zu; cutting %zu bytes%s", fs->name, fs->why, fs->good,
             size - fs->good,
             fs->damaged ? " and every later segment (DATA_LOAD_TRUNCATED=yes)" : " (torn tail)");
    if (cut_file(dir_fd, fs->name, fs->good) != 0) {
        ckv_set_err(err, errlen, "cannot cut %s: %s", fs->name, strerror(errno));
        return CKV_ERROR;
    }
    out->dropped_bytes += size - fs->good;
    return CKV_OK;
}

/* Removes segments folded into the snapshot (a crash between the two steps leaves them)
 * and, after a drop, those after the damage. */
static void remove_segments(int dir_fd, const uint64_t *segs, size_t from, size_t to)
{
    for (size_t i = from; i < to; i++) {
        char name[32];
        ckv_segment_name(segs[i], name, sizeof(name));
        unlinkat(dir_fd, name, 0);
    }
}

static int replay_segments(int dir_fd, const uint64_t *segs, size_t count, size_t first,
                           bool load_truncated, ckv_replica *r, ckv_load_result *out, char *err,
                           size_t errlen)
{
    for (size_t i = first; i < count; i++) {
        char name[32];
        ckv_segment_name(segs[i], name, sizeof(name));
        if (i > first && segs[i] != segs[i - 1] + 1 && !load_truncated) {
            ckv_set_err(err, errlen, "journal segment %llu is missing (before %s)",
                        (unsigned long long)segs[i - 1] + 1, name);
            return CKV_ERROR;
        }
        file_scan fs = {.name = name, .last_file = i + 1 == count};
        size_t size;
        if (scan_segment(dir_fd, &fs, r, &out->versions, &size, err, errlen) != CKV_OK)
            return CKV_ERROR;
        out->found = true;
        out->last_segment = segs[i];
        bool stopped = fs.good < size;
        if (stopped && handle_stop(dir_fd, &fs, stopped ? size : 0, load_truncated, out, err,
                                   errlen) != CKV_OK)
            return CKV_ERROR;
        out->segment_bytes = stopped ? fs.good : size;
        out->journal_bytes += out->segment_bytes;
        if (stopped && fs.damaged) {
            remove_segments(dir_fd, segs, i + 1, count);
            break;
        }
    }
    return CKV_OK;
}

int ckv_persist_load(int dir_fd, const char *dir, bool load_truncated, ckv_replica *r,
                     ckv_load_result *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    unlinkat(dir_fd, CKV_SNAPSHOT_TMP, 0); /* a snapshot that did not finish */
    uint64_t *segs = malloc(SEGMENTS_MAX * sizeof(*segs));
    if (segs == NULL) {
        ckv_set_err(err, errlen, "out of memory");
        return CKV_ERROR;
    }
    uint64_t next_segment = 0;
    size_t count = 0;
    int rc = load_snapshot(dir_fd, r, out, &next_segment, err, errlen);
    if (rc == CKV_OK)
        rc = list_segments(dir, segs, &count, err, errlen);
    if (rc == CKV_OK) {
        size_t first = 0;
        while (first < count && segs[first] < next_segment)
            first++;
        remove_segments(dir_fd, segs, 0, first);
        /* the history goes on from where the snapshot (or nothing) left it */
        if (first < count && segs[first] != next_segment && !load_truncated) {
            ckv_set_err(err, errlen, "journal segment %llu is missing (the oldest kept is %llu)",
                        (unsigned long long)next_segment, (unsigned long long)segs[first]);
            free(segs);
            return CKV_ERROR;
        }
        out->first_segment = first < count ? segs[first] : next_segment;
        out->last_segment = next_segment;
        rc = replay_segments(dir_fd, segs, count, first, load_truncated, r, out, err, errlen);
        if (rc == CKV_OK && out->last_segment < next_segment)
            out->last_segment = next_segment;
    }
    free(segs);
    return rc;
}
