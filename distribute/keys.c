/* CURVE key files for the task layer (keys.h): generating them (qh_keygen), finding a
 * process's own pair and the broker's public key, and loading the broker's allowed keys.
 * Key files hold one Z85 key on one line; secret ones are created with mode 0600 and never
 * overwritten. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"
#include "distribute/keys.h"
#include "qhybrid/pool.h"

bool qh__endpoint_needs_keys(const char *endpoint)
{
    return endpoint && strncmp(endpoint, "tcp://", 6) == 0;
}

static bool s_insecure(const qh__keyopts *o)
{
    const char *e = getenv("QH_INSECURE");
    return (o && o->insecure) || (e && strcmp(e, "1") == 0);
}

/* The key directory, or "" when none is set and the default does not exist. */
static void s_dir(const qh__keyopts *o, char *dir, size_t n)
{
    const char *e = NULL;
    dir[0] = 0;
    if (o && o->keys) {
        snprintf(dir, n, "%s", o->keys);
        return;
    }
    if ((e = getenv("QH_KEYS")) && *e) {
        snprintf(dir, n, "%s", e);
        return;
    }
    if ((e = getenv("QH_HOME")) && *e)
        snprintf(dir, n, "%s/keys", e);
    else if ((e = getenv("HOME")) && *e)
        snprintf(dir, n, "%s/.qhybrid/keys", e);
    struct stat st;
    if (dir[0] && (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)))
        dir[0] = 0;
}

qh_status qh__key_read(const char *spec, char out[QH__KEY_Z85])
{
    if (qh__curve_valid(spec)) {
        memcpy(out, spec, QH__KEY_Z85);
        return QH_OK;
    }
    FILE *f = fopen(spec, "r");
    if (!f)
        return QH_ERROR(QH_EIO, "cannot read the key %s: %s", spec, strerror(errno));
    char line[128] = "";
    bool got = fgets(line, sizeof line, f) != NULL;
    fclose(f);
    line[strcspn(line, "\r\n \t")] = 0;
    if (!got || !qh__curve_valid(line))
        return QH_ERROR(QH_EINVAL, "%s does not hold a CURVE key (one line of 40 Z85 characters)",
                        spec);
    memcpy(out, line, QH__KEY_Z85);
    return QH_OK;
}

static qh_status s_no_keys(const char *endpoint, const char *what)
{
    return QH_ERROR(QH_EINVAL,
                    "%s is a tcp endpoint and %s: create keys with `qhybrid keygen` and name "
                    "their directory (--keys DIR or QH_KEYS; or QH_KEY and QH_BROKER_KEY), or "
                    "allow unauthenticated tcp (--insecure, QH_INSECURE=1)",
                    endpoint, what);
}

qh_status qh__keys_connect(const char *endpoint, const char *role, const qh__keyopts *o,
                           qh__curve *out)
{
    memset(out, 0, sizeof *out);
    if (!qh__endpoint_needs_keys(endpoint))
        return QH_OK;
    char dir[1024], path[1100];
    s_dir(o, dir, sizeof dir);
    const char *key = o && o->key ? o->key : o && o->dir_only ? NULL : getenv("QH_KEY");
    const char *bkey = o && o->broker_key ? o->broker_key : getenv("QH_BROKER_KEY");
    char key_path[1100] = "", bkey_path[1100] = "";
    if ((!key || !*key) && dir[0]) {
        snprintf(key_path, sizeof key_path, "%s/%s.key", dir, role);
        key = access(key_path, R_OK) == 0 ? key_path : NULL;
    }
    if ((!bkey || !*bkey) && dir[0]) {
        snprintf(bkey_path, sizeof bkey_path, "%s/broker.pub", dir);
        bkey = access(bkey_path, R_OK) == 0 ? bkey_path : NULL;
    }
    if ((!key || !*key) && (!bkey || !*bkey) && s_insecure(o))
        return QH_OK;
    if (!key || !*key) {
        snprintf(path, sizeof path, "no %s key was found (%s/%s.key)", role,
                 dir[0] ? dir : "$QH_KEYS", role);
        return s_no_keys(endpoint, path);
    }
    if (!bkey || !*bkey)
        return s_no_keys(endpoint, "the broker's public key is unknown (QH_BROKER_KEY)");
    QH_CALL(qh__key_read(key, out->sec));
    QH_CALL(qh__curve_public(out->sec, out->pub));
    QH_CALL(qh__key_read(bkey, out->server));
    return QH_OK;
}

/* Allows every NAME.pub of dir in `domain` as `user`; a missing directory allows none. */
static qh_status s_allow_dir(const char *dir, const char *domain, const char *user, size_t *n)
{
    DIR *d = opendir(dir);
    if (!d)
        return QH_OK;
    qh_status st = QH_OK;
    struct dirent *e;
    while (st == QH_OK && (e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len < 5 || strcmp(e->d_name + len - 4, ".pub") != 0)
            continue;
        char path[2048], key[QH__KEY_Z85];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        st = qh__key_read(path, key);
        const char *k = key;
        if (st == QH_OK)
            st = qh__zap_allow(domain, &k, 1, user);
        if (st == QH_OK)
            (*n)++;
    }
    closedir(d);
    return st;
}

qh_status qh__keys_broker(const char *endpoint, const qh__keyopts *o, const char *domain,
                          qh__curve *out, bool *curve)
{
    memset(out, 0, sizeof *out);
    *curve = false;
    if (!qh__endpoint_needs_keys(endpoint))
        return QH_OK;
    char dir[1024], path[1100];
    s_dir(o, dir, sizeof dir);
    snprintf(path, sizeof path, "%s/broker.key", dir);
    if (!dir[0] || access(path, R_OK) != 0) {
        if (s_insecure(o))
            return QH_OK;
        char what[1200];
        snprintf(what, sizeof what, "the broker has no key (%s)",
                 dir[0] ? path : "$QH_KEYS/broker.key");
        return s_no_keys(endpoint, what);
    }
    QH_CALL(qh__key_read(path, out->sec));
    QH_CALL(qh__curve_public(out->sec, out->pub));
    size_t n = 0;
    char sub[1100];
    snprintf(sub, sizeof sub, "%s/clients", dir);
    qh_status st = s_allow_dir(sub, domain, "client", &n);
    snprintf(sub, sizeof sub, "%s/workers", dir);
    if (st == QH_OK)
        st = s_allow_dir(sub, domain, "worker", &n);
    if (st != QH_OK) {
        qh__zap_forget(domain);
        return st;
    }
    *curve = true;
    return QH_OK;
}

/* Writes text to path, created with `mode`, failing if it exists. */
static qh_status s_write_new(const char *path, const char *text, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0)
        return QH_ERROR(errno == EEXIST ? QH_EEXIST : QH_EIO, "cannot create %s: %s", path,
                        strerror(errno));
    size_t len = strlen(text);
    bool ok = write(fd, text, len) == (ssize_t)len;
    ok = close(fd) == 0 && ok;
    if (!ok) {
        unlink(path);
        return QH_ERROR(QH_EIO, "cannot write %s", path);
    }
    return QH_OK;
}

/* mkdir -p with mode 0700 for what it creates. */
static qh_status s_mkdirs(const char *dir)
{
    char path[2048];
    if (snprintf(path, sizeof path, "%s", dir) >= (int)sizeof path)
        return QH_ERROR(QH_EINVAL, "the key directory name is too long");
    for (char *p = path + 1;; p++) {
        bool end = *p == 0;
        if (*p == '/' || end) {
            *p = 0;
            if (mkdir(path, 0700) != 0 && errno != EEXIST)
                return QH_ERROR(QH_EIO, "cannot create %s: %s", path, strerror(errno));
            if (end)
                break;
            *p = '/';
        }
    }
    return QH_OK;
}

qh_status qh_keygen(const char *dir, const char *name, const char *role)
{
    if (!dir || !*dir || !role)
        return QH_ERROR(QH_EINVAL, "qh_keygen needs a directory and a role");
    const char *sub = strcmp(role, "client") == 0   ? "clients"
                      : strcmp(role, "worker") == 0 ? "workers"
                      : strcmp(role, "broker") == 0 ? ""
                                                    : NULL;
    if (!sub)
        return QH_ERROR(QH_EINVAL, "unknown role '%s' (broker, client or worker)", role);
    if (!name || !*name)
        name = role;
    if (strchr(name, '/') || name[0] == '.')
        return QH_ERROR(QH_EINVAL, "a key name is a file name without '/' (got '%s')", name);
    char pub[QH__KEY_Z85], sec[QH__KEY_Z85], path[2048], text[64];
    QH_CALL(qh__curve_keypair(pub, sec));
    QH_CALL(s_mkdirs(dir));
    snprintf(path, sizeof path, "%s/%s.key", dir, name);
    snprintf(text, sizeof text, "%s\n", sec);
    QH_CALL(s_write_new(path, text, 0600));
    snprintf(path, sizeof path, "%s/%s.pub", dir, name);
    snprintf(text, sizeof text, "%s\n", pub);
    unlink(path); /* a public key left from an older pair is replaced */
    QH_CALL(s_write_new(path, text, 0644));
    if (*sub) {
        snprintf(path, sizeof path, "%s/%s", dir, sub);
        if (mkdir(path, 0700) != 0 && errno != EEXIST)
            return QH_ERROR(QH_EIO, "cannot create %s: %s", path, strerror(errno));
        snprintf(path, sizeof path, "%s/%s/%s.pub", dir, sub, name);
        unlink(path);
        QH_CALL(s_write_new(path, text, 0644));
    }
    return QH_OK;
}
