/*
 * sim-private.h: what the simulator's files and its own tests share.  Not for other modules.
 *
 * Layers, bottom up: rng.c (hashes and deterministic draws), loads.c (load models, power and
 * energy of one channel), device.c (one simulated device: channel values, energy state, the
 * register image from its profile, faults), tcp.c and rtu.c (transports), server.c (sim_run).
 */
#ifndef WA_SIM_PRIVATE_H
#define WA_SIM_PRIVATE_H

#include <stddef.h>
#include <stdint.h>

#include <modbus.h>

#include "meters/sim/sim.h"

/* --- rng.c ------------------------------------------------------------------------------ */

/* SplitMix64 (Steele, Lea, Flood, "Fast splittable pseudorandom number generators",
 * OOPSLA 2014): a stateless mix, and the generator that advances *state. */
uint64_t sim_mix64(uint64_t x);
uint64_t sim_next64(uint64_t *state);
/* Uniform in [0, 1) from 53 bits. */
double sim_unit(uint64_t x);
/* Standard normal variate that depends only on (seed, key): the same inputs give the same
 * number in every process, so simulated ground truth is reproducible. */
double sim_gauss(uint64_t seed, int64_t key);
/* FNV-1a 32-bit over s, continuing from h (start with SIM_FNV_BASIS). */
#define SIM_FNV_BASIS 2166136261u
uint32_t sim_fnv1a(const char *s, uint32_t h);

/* --- loads.c ---------------------------------------------------------------------------- */

/* Energy is integrated on this grid: power is sampled at multiples of SIM_GRID_S seconds and
 * linearly interpolated between samples, so an integral over [a, c] equals the sum of those
 * over [a, b] and [b, c] for any b.  That lets a server integrate forward incrementally and
 * still agree with sim_energy() over the whole span. */
#define SIM_GRID_S 10

/* The site's UTC offset, cached per quarter hour of UTC time: every zone's offset changes on
 * a quarter-hour boundary, so one lookup per bucket is exact and keeps the zone switch of
 * wa_time_local() (a lock and a tzset) out of the 10 s integration loop. */
typedef struct sim_tz {
    const char *tz; /* borrowed; NULL or "" = the process's zone */
    int64_t bucket; /* floor(t / 900) the offset below is for */
    long offset;    /* seconds east of UTC */
    int valid;
} sim_tz_t;

void sim_tz_init(sim_tz_t *z, const char *tz);
/* Local wall-clock position of t: hour of day (0..24) and day of week (0 = Sunday). */
void sim_tz_local(sim_tz_t *z, double t, double *hour, int *wday);

/* The load models, each a function of the load, the local time and t.  Shared with tests so
 * that tables can probe one model at a time.  Returns W. */
double sim_load_power(const sc_load_t *ld, double hour, int wday, double t);
/* Default `w` of a model when the config gives none (0 if the model has no default). */
double sim_load_default_w(const char *model);

/* How far a load is between its idle and its full draw at this instant, 0..1 (a running job or
 * rig: 1; an office PC mining at night: 1 at night), and in *span the W between the two for the
 * whole load (x count).  Flat models (server, constant) are a machine's idle draw: 0, span 0.
 * Outside from..to: 0.  So a load draws idle + span x util (the gpu_rig's ripple aside). */
double sim_load_util(const sc_load_t *ld, double hour, int wday, double t, double *span);
/* GPUs the load keeps busy on a host with a DCGM exporter (per unit x count); 0 = a CPU load. */
int sim_load_gpus(const sc_load_t *ld);
/* 1 if the model depends on the site's wall clock. */
int sim_load_needs_local(const sc_load_t *ld);

double sim_power_tz(const sc_sim_t *s, sim_tz_t *z, double t);
/* Energy in Wh between t0 and t1 (0 if t1 <= t0). */
double sim_energy_tz(const sc_sim_t *s, sim_tz_t *z, double t0, double t1);

/* --- hosts.c ---------------------------------------------------------------------------- */

#define SIM_HOST_CPUS 4      /* CPUs a simulated host shows: a modelling choice */
#define SIM_HOST_GPUS_MAX 64 /* GPUs one host may show */

typedef enum { SIM_EXPORTER_NODE, SIM_EXPORTER_DCGM } sim_exporter_t;

typedef struct sim_host {
    const sc_host_t *cfg;                 /* borrowed */
    const sc_load_t *loads[SC_LOADS_MAX]; /* borrowed: the loads that name this host */
    size_t n_loads;
    int gpu_side;    /* the host has a gpu_exporter: GPU models show on its GPUs */
    size_t n_gpus;
    sim_tz_t tz;
    double c_t;      /* the CPU counters are integrated up to this time */
    double busy_s, idle_s; /* per CPU, from the origin */
} sim_host_t;

/* Finds the loads of site that name cfg->id; the counters start at origin.  0, or -1 with errno
 * WA_ECONFIG and err (too many GPUs). */
int sim_host_init(sim_host_t *h, const sc_site_t *site, const sc_host_t *cfg, double origin,
                  char *err, size_t errlen);
/* The host at t (instantaneous; the counters are not touched). */
void sim_host_now(sim_host_t *h, double t, sim_host_load_t *out);
/* Integrates the CPU counters up to t; an earlier t leaves them as they are. */
void sim_host_advance(sim_host_t *h, double t);
/* The exposition text (format 0.0.4) at t, the counters advanced first.  A malloc'd buffer the
 * caller frees, its length in *len; NULL with errno ENOMEM. */
char *sim_host_render(sim_host_t *h, sim_exporter_t kind, double t, size_t *len);

/* --- device.c --------------------------------------------------------------------------- */

/* The values one channel shows at one time, in canonical units. */
typedef struct sim_values {
    double p, v, i, pf, wh;
} sim_values_t;

typedef struct sim_chan {
    char name[PROFILE_NAME_MAX]; /* the profile's channel name */
    const sc_sim_t *sim;         /* borrowed from the config; NULL = not simulated */
    int summing;                 /* no simulate block and named total/inlet/inlet1 */
    uint32_t seed;               /* for voltage wander and power-factor jitter */
    sim_tz_t tz;
    double e_t, e_wh; /* energy integrated from the origin up to e_t */
    sim_values_t now; /* at the device's last update */
} sim_chan_t;

/* A contiguous block of registers the device answers for one function code. */
typedef struct sim_region {
    uint16_t start;
    uint32_t count;  /* 0 = the device has no registers for this function */
    uint16_t *words; /* count words; owned unless `shared` */
    int shared;      /* SunSpec devices answer 03 and 04 from the same image */
} sim_region_t;

typedef struct sim_dev {
    const sc_device_t *cfg; /* borrowed */
    const profile_t *prof;  /* borrowed */
    char bus_id[SC_ID_MAX];
    sim_chan_t *ch;
    size_t n_ch;
    int *row_ch;            /* per profile row: index into ch */
    uint32_t *row_addr;     /* per row: absolute register address */
    int *row_sf;            /* per row: the sunssf served for it (0 without one) */
    sim_region_t region[2]; /* [0] holding (03), [1] input (04) */
    double t;               /* time of the image; NAN before the first update */
    double freq;            /* Hz at t */
    uint64_t rng;           /* fault draws */
} sim_dev_t;

/* Per channel, the most power its loads can draw (W): sizes the SunSpec scale factors. */
double sim_chan_peak_w(const sim_dev_t *dev, size_t ch);

/* regmap.c: lays out dev->region from the profile (SunSpec blocks included), chooses the
 * fixed sunssf of each scaled row, and fills dev->row_addr and dev->row_sf.  0, or -1 with
 * errno WA_ECONFIG or ENOMEM and err. */
int sim_regmap_build(sim_dev_t *dev, char *err, size_t errlen);
/* Writes every row's current value (dev->ch[].now) into the image. */
void sim_regmap_encode(sim_dev_t *dev);
/* Replaces the values of the rows (and sunssf registers) that overlap [addr, addr+count)
 * in words, a copy of that slice of the image, with garbage. */
void sim_regmap_garble(sim_dev_t *dev, int fn, uint16_t addr, uint16_t count, uint16_t *words);

/* Builds a device from its config and profile.  energy_origin is where energy counting
 * starts.  NULL with errno (WA_ECONFIG, ENOMEM) and err on failure; free with sim_dev_free. */
sim_dev_t *sim_dev_new(const sc_device_t *d, const profile_t *p, const char *bus_id, const char *tz,
                       double energy_origin, char *err, size_t errlen);
void sim_dev_free(sim_dev_t *dev);
/* Moves the device to time t: channel values, energy state and register image.  Time never
 * runs backwards for the energy registers: an earlier t leaves energy where it was. */
void sim_dev_update(sim_dev_t *dev, double t);
/* Channel values after the last update; NULL if the profile has no such channel. */
const sim_values_t *sim_dev_values(const sim_dev_t *dev, const char *channel);

/* One decoded request as a transport hands it over. */
typedef struct sim_request {
    int unit;
    int fc;
    uint16_t addr, count; /* reads only */
    size_t pdu_len;       /* function code and data, without unit and checksum */
} sim_request_t;

typedef enum {
    SIM_ANSWER_REPLY,     /* words[0..count) */
    SIM_ANSWER_EXCEPTION, /* exception code */
    SIM_ANSWER_SILENT,    /* no reply at all */
    SIM_ANSWER_DROP,      /* close the connection (TCP); silent on a serial line */
} sim_answer_kind_t;

#define SIM_READ_MAX 125 /* Modbus Application Protocol V1.1b3, 6.3: quantity 1..125 */

typedef struct sim_answer {
    sim_answer_kind_t kind;
    int exception;
    uint16_t words[SIM_READ_MAX];
} sim_answer_t;

/* Decides what the device answers to req at time now, faults included, and counts it in
 * stats (which must not be NULL).  dev may be NULL: no device has that unit (TCP gateway:
 * exception 0x0B; serial line: silence, which the caller decides by not calling). */
void sim_dev_answer(sim_dev_t *dev, const sim_request_t *req, double now, sim_answer_t *ans,
                    sim_stats_t *stats);

/* Garbage for one row: a raw word pattern that profile_decode rejects if any can be found
 * (sentinel, NaN or infinity, a value beyond min/max), else the type's largest pattern.
 * pick varies the choice.  Writes profile_type_words(r->type) words. */
void sim_garbage_row(const profile_reg_t *r, int sf, uint64_t pick, uint16_t *words);

/* --- transports: tcp.c, rtu.c; driven by server.c's poll loop ----------------------------- */

#define SIM_TCP_CLIENTS 64 /* per listener; more are accepted and closed at once */
#define SIM_TCP_BUF 512    /* > one MBAP frame: 7 header bytes + 253 PDU bytes (V1.1b3 4.1) */
#define SIM_RTU_BUF 512    /* > one RTU frame: 256 bytes (Serial Line V1.02, 2.5.1.1) */

struct pollfd;

typedef struct sim_client {
    int fd;
    size_t len;
    uint8_t buf[SIM_TCP_BUF];
} sim_client_t;

typedef struct sim_bus {
    const sc_bus_t *cfg; /* borrowed */
    modbus_t *ctx;       /* frames replies; its socket is set per reply */
    sim_dev_t **devs;    /* borrowed from the server */
    size_t n_devs;
    /* TCP */
    int lfd;
    char bound[SC_NAME_MAX + 16]; /* host:port actually listened on */
    sim_client_t clients[SIM_TCP_CLIENTS];
    size_t n_clients;
    /* RTU on a pseudo-terminal */
    int mfd, sfd;
    char slave[64];
    int linked; /* we made the symlink at cfg->device */
    uint8_t rx[SIM_RTU_BUF];
    size_t rx_len;
    double rx_last; /* monotonic s of the last byte received */
    double tx_last; /* monotonic s of the last reply written */
    double gap_s;   /* silence that ends a frame */
} sim_bus_t;

/* Server-wide state a transport needs to answer. */
typedef struct sim_serve {
    const sim_opts_t *o;
    sim_stats_t *st;
} sim_serve_t;

sim_dev_t *sim_bus_find(const sim_bus_t *b, int unit);

int sim_tcp_open(sim_bus_t *b, char *err, size_t errlen);
void sim_tcp_close(sim_bus_t *b);
/* Fills at most max poll entries: the listener, then each client.  Returns how many. */
size_t sim_tcp_fds(const sim_bus_t *b, struct pollfd *pfd, size_t max);
void sim_tcp_service(sim_bus_t *b, const struct pollfd *pfd, size_t n, const sim_serve_t *sv);

int sim_rtu_open(sim_bus_t *b, char *err, size_t errlen);
void sim_rtu_close(sim_bus_t *b);
size_t sim_rtu_fds(const sim_bus_t *b, struct pollfd *pfd, size_t max);
void sim_rtu_service(sim_bus_t *b, const struct pollfd *pfd, size_t n, const sim_serve_t *sv);
/* Milliseconds until a partial frame's silence elapses, or -1 if none is pending. */
int sim_rtu_wait_ms(const sim_bus_t *b);

/* Monotonic seconds. */
double sim_mono(void);

/* --- http.c: the hosts' exporters --------------------------------------------------------- */

#define SIM_HTTP_CLIENTS 64    /* per listener; more are accepted and closed at once */
#define SIM_HTTP_HEAD_MAX 8192 /* request line and headers; a longer head gets 431 */
#define SIM_HTTP_IDLE_S 10.0   /* a client without a whole request by then is dropped */

/* One path of a listener: which host's which exporter. */
typedef struct sim_route {
    char path[SC_PATH_MAX];
    sim_host_t *host; /* borrowed from the server */
    sim_exporter_t kind;
} sim_route_t;

typedef struct sim_http_conn {
    int fd;
    int state; /* reading the request, writing the answer, draining until the client closes */
    size_t in_len;
    char in[SIM_HTTP_HEAD_MAX];
    char *out; /* the answer, head and body; owned */
    size_t out_len, out_off;
    double since; /* monotonic s the state began */
} sim_http_conn_t;

typedef struct sim_http {
    char addr[64]; /* IPv4 loopback literal */
    int port;      /* as configured; the bound port once open (0 asks the kernel) */
    int lfd;
    char bound[80];
    sim_route_t *routes; /* owned */
    size_t n_routes;
    sim_http_conn_t conns[SIM_HTTP_CLIENTS];
    size_t n_conns;
} sim_http_t;

/* Reads an exporter URL "http://host[:port][/path]".  1 if the simulator serves it (host an IPv4
 * loopback literal, 127.0.0.0/8, or "localhost"): addr, port (80 if none) and the path without
 * query ("/" if none) are filled; 0 if it names another machine; -1 if it is no such URL. */
int sim_http_url(const char *url, char *addr, size_t an, int *port, char *path, size_t pn);
/* Reads the request line of a complete request head (NUL-terminated; cut at its first line
 * end, in place): "GET SP target SP HTTP/1.x".  0 with the target's path (a proxy's absolute
 * form reduced to its path, query and fragment cut; always starting with '/') in path; 405 for
 * another method; 400 for anything malformed or too long.  Outside input: fuzzed (fuzz/fuzz_simhttp.c). */
int sim_http_request(char *head, char *path, size_t pn);
int sim_http_open(sim_http_t *l, char *err, size_t errlen);
void sim_http_close(sim_http_t *l);
size_t sim_http_fds(const sim_http_t *l, struct pollfd *pfd, size_t max);
/* Serves what poll() reported, then drops clients past their time. */
void sim_http_service(sim_http_t *l, const struct pollfd *pfd, size_t n, const sim_serve_t *sv);

/* --- rtu.c ------------------------------------------------------------------------------ */

/* CRC-16/MODBUS over buf (Modbus over Serial Line V1.02, 6.2.2). */
uint16_t sim_crc16(const uint8_t *buf, size_t len);
/* Length of the RTU request frame at buf (address, function, data, CRC) by function code:
 * > 0 the length, 0 = more bytes needed to tell, -1 = a function of unknown layout (the frame
 * ends at the first silence). */
int sim_rtu_frame_len(const uint8_t *buf, size_t len);

#endif
