/* Runs the fuzz entry point over every file of the given directories (or files), without
 * libFuzzer: the seed corpus and every crash the fuzzer ever found stay regression tests
 * in the ordinary (gcc) build. Exit status 0 when every input was run. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Runs one file; returns 0 on success, -1 if it cannot be read. */
static int s_run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        return -1;
    }
    size_t cap = 4096, len = 0;
    uint8_t *buf = malloc(cap);
    size_t n;
    while (buf && (n = fread(buf + len, 1, cap - len, f)) > 0) {
        len += n;
        if (len == cap) {
            uint8_t *b = realloc(buf, cap *= 2);
            if (!b)
                free(buf);
            buf = b;
        }
    }
    fclose(f);
    if (!buf) {
        fprintf(stderr, "%s: out of memory\n", path);
        return -1;
    }
    /* An exact-size copy, so that ASan catches a read past the end as libFuzzer would. */
    uint8_t *exact = malloc(len ? len : 1);
    if (!exact) {
        free(buf);
        return -1;
    }
    memcpy(exact, buf, len);
    free(buf);
    LLVMFuzzerTestOneInput(exact, len);
    free(exact);
    return 0;
}

static int s_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Runs every regular file of a directory in name order; returns the count or -1. */
static int s_run_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) {
        perror(dir);
        return -1;
    }
    char **names = NULL;
    size_t num = 0;
    struct dirent *e;
    int bad = 0;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        size_t len = strlen(dir) + strlen(e->d_name) + 2;
        char *path = malloc(len);
        char **t = path ? realloc(names, (num + 1) * sizeof *t) : NULL;
        if (!t) {
            free(path);
            bad = 1;
            break;
        }
        names = t;
        snprintf(path, len, "%s/%s", dir, e->d_name);
        names[num++] = path;
    }
    closedir(d);
    if (num)
        qsort(names, num, sizeof *names, s_cmp);
    int count = 0;
    for (size_t i = 0; i < num; i++) {
        struct stat sb;
        if (!bad && stat(names[i], &sb) == 0 && S_ISREG(sb.st_mode)) {
            if (s_run_file(names[i]) != 0)
                bad = 1;
            count++;
        }
        free(names[i]);
    }
    free(names);
    return bad ? -1 : count;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s DIR_OR_FILE...\n", argv[0]);
        return 2;
    }
    int total = 0;
    for (int i = 1; i < argc; i++) {
        struct stat sb;
        if (stat(argv[i], &sb) != 0) {
            perror(argv[i]);
            return 1;
        }
        int n = S_ISDIR(sb.st_mode) ? s_run_dir(argv[i]) : (s_run_file(argv[i]) == 0 ? 1 : -1);
        if (n < 0)
            return 1;
        total += n;
    }
    if (total == 0) {
        fprintf(stderr, "no inputs found\n");
        return 1;
    }
    printf("ran %d inputs\n", total);
    return 0;
}
