/*
 * site-private.h: what the site layer's files share (run.c, output_*.c, report.c).  Not for
 * other modules, nor for the channel layer's files.
 */
#ifndef WA_SITE_PRIVATE_H
#define WA_SITE_PRIVATE_H

#include <stdio.h>

#include "analysis/analysis.h"

/* Schema name written into every JSON document; docs/analysis-json.md describes version 1.
 * The name carries the major version only, so that readers of 1.0 keep matching it; the
 * minor version is in "schema_version" and grows when fields are added. */
#define AN_JSON_SCHEMA "wattaudit.analysis/1"
#define AN_JSON_SCHEMA_VERSION "1.1"

/* The writers behind an_write().  0, or -1 with errno and err. */
int an_output_text(const an_result_t *r, FILE *out, char *err, size_t errlen);
int an_output_csv(const an_result_t *r, FILE *out, char *err, size_t errlen);
int an_output_json(const an_result_t *r, FILE *out, char *err, size_t errlen);

/* The JSON document as a cJSON tree (the report's JSON embeds it).  NULL with errno ENOMEM. */
struct cJSON;
struct cJSON *an_result_json(const an_result_t *r);

/* A CSV field: quoted when it holds a separator, a quote or a line break. */
void an_csv_field(FILE *out, const char *s);

/* Where gap g of channel c lies in its window (c->from, to]: "start" if it begins the window,
 * "end" if it ends it (data that begin late or stop early), else "inside". */
const char *an_gap_position(const an_channel_result_t *c, int64_t to, const an_gap_t *g);

/* A channel's gaps for people: "3 gaps, 5.1 h", "1 gap: no data before 2026-11-02 00:01, the
 * window's first 1 min" (data that begin late or stop early are said so); "" without gaps.
 * Times in tz.  Returns the length written, as snprintf. */
int an_gaps_describe(const an_channel_result_t *c, int64_t to, const char *tz, char *buf,
                     size_t len);

/* 1 if a finding of channel c still runs at the end of its data (its savings count). */
int an_finding_active(const an_channel_result_t *c, const an_finding_t *f);

#endif
