/*
 * siteconf: the site configuration, parsed once into plain structs and passed down.
 *
 * sites -> buses (Modbus TCP gateway, serial line, or the host's USB) -> devices (Modbus: unit
 * id and profile; USB: how to find the UPS; both: poll interval) -> channels (circuit or outlet
 * names, rated power).  The file format is libconfig's
 * (docs/config.md).  Every error names the file and the line.  Unknown keys are errors.
 * Cross-field checks within the file run after the walk; checks against device profiles are
 * the meters module's (meters/profile).
 */
#ifndef WA_SITECONF_H
#define WA_SITECONF_H

#include <stddef.h>
#include <stdint.h>

#define SC_ID_MAX 64
#define SC_NAME_MAX 128
#define SC_PATH_MAX 512
#define SC_LOADS_MAX 16

/* SC_BUS_USB: USB HID power devices (UPSes, PDUs) on this host, written `usb = { };`.  Its
 * devices have no unit or profile; each is found by sc_usb_t and has one channel. */
typedef enum { SC_BUS_TCP, SC_BUS_SERIAL, SC_BUS_USB } sc_bus_kind_t;

/* The id of the one channel of a USB device, and its source, when none is configured. */
#define SC_USB_CHANNEL "output"

/* How to find a USB HID power device, and its rating.  Every criterion given must match; at
 * least one is given (siteconf checks), and no two devices in the file have criteria that
 * could pick the same UPS with one being no more specific than the other. */
typedef struct sc_usb {
    uint16_t vid, pid;         /* usb_id = "vvvv:pppp" (hex); both 0 = not given */
    char serial[128];          /* the USB serial number string; "" = any */
    char path[32];             /* usb_path, the port path as sysfs writes it ("1-1.4"); "" = any */
    double nominal_w;          /* rated W for a device that reports only percent load; 0 = the
                                  device's own rating */
    double nominal_va;         /* rated VA, likewise */
} sc_usb_t;

/* One load model driving a simulated channel (meters/sim).  Times are Unix seconds;
 * `from` = INT64_MIN means "always", `to` = INT64_MAX means "never ends". */
typedef struct sc_load {
    char model[SC_ID_MAX]; /* office, server, gpu_rig, asic, research_job, pc_mining, constant */
    double w;              /* per unit (rig, PC, server) or the level of a constant load */
    double base_w;         /* office: night and weekend base */
    int count;             /* rigs, PCs, servers; default 1 */
    int64_t from, to;
    int line;
    char host[SC_ID_MAX];  /* the site's host (sc_host_t.id) running it, whose simulated
                              exporters show its utilisation; "" = unmonitored.  siteconf checks
                              that the host exists and draws from this load's channel */
} sc_load_t;

typedef struct sc_sim {
    int enabled;
    double noise;   /* relative standard deviation of white noise, default 0.01 */
    uint32_t seed;  /* default: derived from the channel path */
    sc_load_t loads[SC_LOADS_MAX];
    size_t n_loads;
} sc_sim_t;

/* Fault injection for a simulated device: probabilities per request, 0..1. */
typedef struct sc_faults {
    double timeout, exception, garbage, drop;
    int dead;        /* never answers */
    int reject_over; /* answers reads of more than this many registers with exception 02; 0 = off */
} sc_faults_t;

/* A load someone has declared on a channel (a research job, a server that belongs there):
 * the analyzer reports findings it covers as explained, not flagged.  Times are Unix seconds;
 * from = INT64_MIN: there since before the data; to = INT64_MAX: no end. */
typedef struct sc_declared {
    char id[SC_ID_MAX];       /* shown as explained_by: "slurm-4412", "rack-a-web" */
    char kind[SC_ID_MAX];     /* research, server, storage, network, hvac, other */
    char note[SC_NAME_MAX];   /* who declared it, and why */
    double w_min, w_max;      /* power it may draw, W */
    int64_t from, to;
    int line;
} sc_declared_t;

typedef struct sc_channel {
    char id[SC_ID_MAX];       /* path component in storage */
    char source[SC_ID_MAX];   /* channel name in the device profile; default = id */
    char name[SC_NAME_MAX];   /* circuit or outlet label shown to people; default = id */
    double rated_w;           /* 0 = unknown; used for plausibility */
    sc_sim_t sim;
    sc_declared_t *declared;  /* `declared` loads on this channel */
    size_t n_declared;
    int line;
} sc_channel_t;

/* A device id no device may have: DATA/<site>/hosts/ holds the hosts' files. */
#define SC_HOSTS_DIR "hosts"

typedef struct sc_device {
    char id[SC_ID_MAX];
    int unit;                 /* Modbus unit id 0..247; 0 on a USB bus */
    char profile[SC_ID_MAX];  /* profile name, see profile_set_find(); "" on a USB bus */
    int interval_s;           /* poll interval, default 60 */
    int timeout_ms;           /* per request, default 1000 */
    int retries;              /* per request after the first try, default 2 */
    int max_regs;             /* most registers in one request, default from profile or 100 */
    int max_gap;              /* most unused registers a coalesced request may span, default 8 */
    int quarantine_after;     /* consecutive failed polls before quarantine, default 3 */
    int quarantine_max_s;     /* longest back-off while quarantined, default 600 */
    sc_channel_t *channels;   /* empty = every channel of the profile, ids = profile names;
                                 USB: always exactly one (default id and source "output") */
    size_t n_channels;
    sc_faults_t faults;       /* simulator only */
    sc_usb_t usb;             /* USB bus only */
    int line;
} sc_device_t;

typedef struct sc_bus {
    char id[SC_ID_MAX];
    sc_bus_kind_t kind;
    char host[SC_NAME_MAX];   /* TCP */
    int port;
    char device[SC_PATH_MAX]; /* serial: /dev/ttyUSB0 */
    int baud;
    char parity;              /* 'N', 'E' (default, as the Modbus serial spec says), 'O' */
    int data_bits, stop_bits;
    int inter_frame_ms;       /* pause between requests on this bus, default 0 (TCP) / 5 */
    sc_device_t *devices;
    size_t n_devices;
    int line;
} sc_bus_t;

/* A computer on a site's circuits: what analysis sets against the power of its channel.  Roles:
 * server, storage, network, gpu_node (research GPU node), office_pc, other. */
#define SC_HOST_IPS_MAX 8
typedef struct sc_host {
    char id[SC_ID_MAX];
    char ips[SC_HOST_IPS_MAX][46]; /* IPv4 or IPv6 text; 46 = INET6_ADDRSTRLEN */
    size_t n_ips;
    char channel[2 * SC_ID_MAX];   /* "device/channel" it draws from; "" = not known */
    char role[SC_ID_MAX];          /* default "other" */
    double idle_w, max_w;          /* 0 = not known */
    char exporter[SC_PATH_MAX];    /* node_exporter URL; "" = none */
    char gpu_exporter[SC_PATH_MAX];/* DCGM exporter URL; "" = none */
    char gauge[SC_ID_MAX];         /* another gauge to keep from the exporters; "" = none */
    int interval_s;                /* scrape interval, default 60 */
    int line;
} sc_host_t;

typedef struct sc_site {
    char id[SC_ID_MAX];
    char name[SC_NAME_MAX];
    char timezone[SC_ID_MAX]; /* IANA name, default the config's, else "" (process TZ) */
    sc_bus_t *buses;
    size_t n_buses;
    int line;
    sc_host_t *hosts;              /* `hosts`: the inventory (may be empty) */
    size_t n_hosts;
    /* Declarations read at analysis time, resolved against the config's folder; "" = none. */
    char jobs_file[SC_PATH_MAX];   /* schedule of research jobs (docs/config.md) */
    char slurm_file[SC_PATH_MAX];  /* `sacct --parsable2` export */
    char flagged_ips_file[SC_PATH_MAX]; /* addresses network monitoring flagged */
} sc_site_t;

typedef struct sc_storage {
    char data_dir[SC_PATH_MAX];  /* default "data" beside the config file */
    char rrdcached[SC_PATH_MAX]; /* "" = write with librrd directly */
    int full_days;               /* days kept at the poll interval, default 35 */
    int mid_step_s, mid_days;    /* default 300 s for 400 days */
    int long_step_s, long_days;  /* default 3600 s for 1830 days */
    int flush_s;                 /* seconds between writes of the queued samples: default 60
                                    with librrd directly, 5 with rrdcached (which caches) */
    int quality;                 /* 1 (default): new files also keep voltage, current, pf and
                                    frequency; 0: power, energy and energy_raw only */
} sc_storage_t;

typedef struct siteconf {
    char file[SC_PATH_MAX];      /* as given to siteconf_load */
    char status_file[SC_PATH_MAX];
    char timezone[SC_ID_MAX];
    char (*profile_dirs)[SC_PATH_MAX]; /* resolved against the config file's folder */
    size_t n_profile_dirs;
    sc_storage_t storage;
    int64_t sim_start;           /* simulation_start: where a simulated scenario's story begins
                                    (0 = not given); `wattaudit demo` shifts the story to end now */
    sc_site_t *sites;
    size_t n_sites;
} siteconf_t;

/* Parses path.  Returns a new config the caller frees with siteconf_free(), or NULL with errno
 * (WA_ECONFIG for content errors, a system errno for I/O) and "file:line: what" in err. */
siteconf_t *siteconf_load(const char *path, char *err, size_t errlen);
/* Same, from a string; `name` is used in messages and relative paths resolve against cwd. */
siteconf_t *siteconf_parse(const char *text, const char *name, char *err, size_t errlen);
void siteconf_free(siteconf_t *c);

/* Counts devices over all sites and buses. */
size_t siteconf_count_devices(const siteconf_t *c);

#endif
