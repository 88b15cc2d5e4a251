/*
 * wa_bench_rrdcount: counts the values actually stored in a tree of RRD files.
 *
 *   wa_bench_rrdcount DIR STEP FROM TO
 *
 * For every *.rrd under DIR, fetches AVERAGE at STEP seconds (the poll interval, so the
 * archive with one primary data point per row) and counts the known rows whose time lies in
 * (FROM, TO] in the data source that holds active power: "power" in wattaudit's files, "value"
 * in collectd's (types.db "power  value:GAUGE:U:U").  Prints "files F values V" and, for a
 * file whose count is short, nothing more: the caller compares V with files x polls.
 * Reads the files directly; stop rrdcached (which flushes on exit) before counting.
 */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <rrd.h>

typedef struct count {
    unsigned long step;
    time_t from, to;
    unsigned long long files, values, failed;
} count_t;

static void count_file(count_t *c, const char *path)
{
    time_t start = c->from, end = c->to;
    unsigned long step = c->step, n_ds = 0;
    char **names = NULL;
    rrd_value_t *data = NULL;
    rrd_clear_error();
    if (rrd_fetch_r(path, "AVERAGE", &start, &end, &step, &n_ds, &names, &data) != 0) {
        fprintf(stderr, "wa_bench_rrdcount: %s: %s\n", path, rrd_get_error());
        c->failed++;
        return;
    }
    unsigned long ds = n_ds;
    for (unsigned long i = 0; i < n_ds; i++)
        if (strcmp(names[i], "power") == 0 || strcmp(names[i], "value") == 0)
            ds = i;
    if (ds == n_ds || step != c->step) {
        fprintf(stderr, "wa_bench_rrdcount: %s: no power data source at step %lu (got %lu)\n",
                path, c->step, step);
        c->failed++;
    } else {
        /* row i covers (start + i*step, start + (i+1)*step] */
        size_t rows = (size_t)((end - start) / (time_t)step);
        for (size_t i = 0; i < rows; i++) {
            time_t t = start + (time_t)((i + 1) * step);
            if (t > c->from && t <= c->to && !isnan(data[i * n_ds + ds]))
                c->values++;
        }
        c->files++;
    }
    for (unsigned long i = 0; i < n_ds; i++)
        rrd_freemem(names[i]);
    rrd_freemem(names);
    rrd_freemem(data);
}

static int walk(count_t *c, const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "wa_bench_rrdcount: %s: %s\n", dir, strerror(errno));
        return -1;
    }
    struct dirent *e;
    int rc = 0;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char path[4096];
        if (snprintf(path, sizeof path, "%s/%s", dir, e->d_name) >= (int)sizeof path)
            continue;
        struct stat sb;
        if (stat(path, &sb) != 0)
            continue;
        size_t len = strlen(e->d_name);
        if (S_ISDIR(sb.st_mode))
            rc |= walk(c, path);
        else if (len > 4 && strcmp(e->d_name + len - 4, ".rrd") == 0)
            count_file(c, path);
    }
    closedir(d);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fputs("usage: wa_bench_rrdcount DIR STEP FROM TO\n", stderr);
        return 2;
    }
    count_t c = {.step = strtoul(argv[2], NULL, 10),
                 .from = (time_t)strtoll(argv[3], NULL, 10),
                 .to = (time_t)strtoll(argv[4], NULL, 10)};
    if (c.step == 0 || c.to <= c.from) {
        fputs("wa_bench_rrdcount: STEP must be > 0 and TO > FROM\n", stderr);
        return 2;
    }
    int rc = walk(&c, argv[1]);
    printf("files %llu values %llu failed %llu\n", c.files, c.values, c.failed);
    return rc != 0 || c.failed ? 1 : 0;
}
