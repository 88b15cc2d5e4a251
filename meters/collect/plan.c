/*
 * The request planner: the fewest reads that cover a device's rows.
 *
 * Rows are sorted by function and address and swept left to right; a request grows while the
 * next row starts within max_gap registers of its end and the whole span stays within
 * max_regs.  Both limits only get easier for a suffix of a run of rows, so taking the longest
 * run each time (greedy) gives the minimum number of requests.
 */
#include "meters/collect/collect-private.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int plan_limit(int device_max_regs, int profile_max_regs)
{
    int lim = device_max_regs > 0 ? device_max_regs : profile_max_regs;
    if (lim <= 0 || lim > PLAN_MAX_REGS)
        lim = PLAN_MAX_REGS;
    return lim;
}

static int cmp_item(const void *a, const void *b)
{
    const plan_item_t *x = a, *y = b;
    if (x->fn != y->fn)
        return x->fn < y->fn ? -1 : 1;
    if (x->addr != y->addr)
        return x->addr < y->addr ? -1 : 1;
    return x->words < y->words ? -1 : x->words > y->words;
}

static uint32_t item_end(const plan_item_t *it)
{
    return (uint32_t)it->addr + it->words;
}

int plan_build(const plan_item_t *items, size_t n, int max_gap, int max_regs, plan_req_t *out)
{
    plan_item_t *s;
    size_t k = 0;

    if (n == 0)
        return 0;
    if (!items || !out || max_gap < 0) {
        errno = EINVAL;
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        if (items[i].words == 0 || item_end(&items[i]) > 0x10000u) {
            errno = EINVAL;
            return -1;
        }
    if (max_regs <= 0 || max_regs > PLAN_MAX_REGS)
        max_regs = PLAN_MAX_REGS;
    s = malloc(n * sizeof *s);
    if (!s)
        return -1;
    memcpy(s, items, n * sizeof *s);
    qsort(s, n, sizeof *s, cmp_item);
    for (size_t i = 0; i < n;) {
        uint32_t start = s[i].addr, end = item_end(&s[i]);
        size_t j = i + 1;
        for (; j < n && s[j].fn == s[i].fn; j++) {
            uint32_t e = item_end(&s[j]);
            uint32_t new_end = e > end ? e : end;
            if (s[j].addr > end && s[j].addr - end > (uint32_t)max_gap)
                break;
            if (new_end - start > (uint32_t)max_regs)
                break;
            end = new_end;
        }
        memset(&out[k], 0, sizeof out[k]);
        out[k].fn = s[i].fn;
        out[k].addr = (uint16_t)start;
        out[k].n = (uint16_t)(end - start);
        k++;
        i = j;
    }
    free(s);
    return (int)k;
}

int plan_covers(const plan_req_t *req, const plan_item_t *item)
{
    return item->fn == req->fn && item->addr >= req->addr &&
           item_end(item) <= (uint32_t)req->addr + req->n;
}

int plan_split(const plan_item_t *items, size_t n, const plan_req_t *req, plan_req_t out[2])
{
    plan_item_t *in;
    size_t m = 0, distinct = 0, half, seen = 0, cut = 0;

    in = malloc((n ? n : 1) * sizeof *in);
    if (!in)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (plan_covers(req, &items[i]))
            in[m++] = items[i];
    qsort(in, m, sizeof *in, cmp_item);
    for (size_t i = 0; i < m; i++)
        if (i == 0 || in[i].addr != in[i - 1].addr)
            distinct++;
    if (distinct < 2) {
        free(in);
        return 0;
    }
    /* The first half of the distinct start addresses goes left; rows sharing an address stay
     * together, and a row overlapping the cut goes with its start. */
    half = distinct / 2;
    for (size_t i = 0; i < m; i++) {
        if (i == 0 || in[i].addr != in[i - 1].addr)
            seen++;
        if (seen > half) {
            cut = i;
            break;
        }
    }
    for (int side = 0; side < 2; side++) {
        size_t a = side ? cut : 0, b = side ? m : cut;
        uint32_t start = in[a].addr, end = 0;
        for (size_t i = a; i < b; i++)
            if (item_end(&in[i]) > end)
                end = item_end(&in[i]);
        memset(&out[side], 0, sizeof out[side]);
        out[side].fn = req->fn;
        out[side].addr = (uint16_t)start;
        out[side].n = (uint16_t)(end - start);
    }
    free(in);
    return 2;
}
