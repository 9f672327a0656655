/*
 * orbemu bus client in C: a flight app on the other side of the bus, in ~200 lines.
 *
 * Speaks the protocol of docs/bus-protocol.md: CCSDS Space Packets (6-byte primary header,
 * 8-byte time secondary header = u64 ns UTC, big-endian) over TCP. It introduces itself
 * (bus-hello), acknowledges its configuration (bus-step-done with step 0xFFFFFFFF), and then,
 * in lockstep with the engine, for each bus-time ("run these ticks") publishes telemetry at
 * every tick -- its tick number, the engine step, and the latitude and state of charge read from
 * the latest bus-state -- and answers bus-step-done with the CPU time it used (getrusage).
 * On bus-stop it answers step 0xFFFFFFFE and exits 0.
 *
 *   usage: bus_client HOST PORT [APP_NAME]
 */
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { HELLO = 0x600, CONFIG = 0x601, TIME = 0x602, STATE = 0x603, DELIVER = 0x604,
       STOP = 0x605, STEP_DONE = 0x610, TELEMETRY = 0x611 };
#define START_STEP 0xFFFFFFFFu
#define STOP_STEP 0xFFFFFFFEu
/* offsets in the bus-state record (STATE_DTYPE in orbemu/fsw/bus.py) */
#define STATE_LAT_DEG 52
#define STATE_SOC 114

static int sock = -1;
static uint16_t seq[0x800];

static void put16(uint8_t *p, uint16_t v) { p[0] = v >> 8; p[1] = v; }
static void put32(uint8_t *p, uint32_t v) { for (int i = 0; i < 4; i++) p[i] = v >> (24 - 8 * i); }
static void put64(uint8_t *p, uint64_t v) { for (int i = 0; i < 8; i++) p[i] = v >> (56 - 8 * i); }
static uint32_t get32(const uint8_t *p) { return (uint32_t)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3]; }
static uint64_t get64(const uint8_t *p) { return (uint64_t)get32(p) << 32 | get32(p + 4); }
static void putf64(uint8_t *p, double d) { uint64_t v; memcpy(&v, &d, 8); put64(p, v); }
static double getf64(const uint8_t *p) { uint64_t v = get64(p); double d; memcpy(&d, &v, 8); return d; }

static void write_all(const uint8_t *buf, size_t n) {
    while (n) {
        ssize_t k = write(sock, buf, n);
        if (k <= 0) { perror("write"); exit(1); }
        buf += k; n -= (size_t)k;
    }
}

static int read_all(uint8_t *buf, size_t n) {
    while (n) {
        ssize_t k = read(sock, buf, n);
        if (k <= 0) return 0;
        buf += k; n -= (size_t)k;
    }
    return 1;
}

/* One telemetry-type Space Packet (app -> engine) with the time header and `len` user bytes. */
static void send_packet(uint16_t apid, uint64_t time_ns, const uint8_t *data, size_t len) {
    uint8_t buf[6 + 8 + 1024];
    size_t body = 8 + len;
    put16(buf, (uint16_t)(1u << 11 | apid));              /* version 0, TM, sec. header */
    put16(buf + 2, (uint16_t)(3u << 14 | seq[apid]));     /* unsegmented, sequence count */
    seq[apid] = (seq[apid] + 1) & 0x3FFF;
    put16(buf + 4, (uint16_t)(body - 1));
    put64(buf + 6, time_ns);
    memcpy(buf + 14, data, len);
    write_all(buf, 6 + body);
}

static uint64_t cpu_ns(void) {
    struct rusage r;
    getrusage(RUSAGE_SELF, &r);
    return (uint64_t)(r.ru_utime.tv_sec + r.ru_stime.tv_sec) * 1000000000ull
         + (uint64_t)(r.ru_utime.tv_usec + r.ru_stime.tv_usec) * 1000ull;
}

static void step_done(uint64_t time_ns, uint32_t step, uint64_t cpu, uint32_t ticks) {
    uint8_t d[16];
    put32(d, step); put64(d + 4, cpu); put32(d + 12, ticks);
    send_packet(STEP_DONE, time_ns, d, sizeof d);
}

/* Append one telemetry point (str8 key, f64 value) at p; returns the bytes written. */
static size_t point(uint8_t *p, const char *key, double value) {
    size_t n = strlen(key);
    p[0] = (uint8_t)n; memcpy(p + 1, key, n); putf64(p + 1 + n, value);
    return 1 + n + 8;
}

int main(int argc, char **argv) {
    if (argc < 3) { fprintf(stderr, "usage: %s HOST PORT [APP_NAME]\n", argv[0]); return 2; }
    const char *name = argc > 3 ? argv[3] : "c-client";
    struct addrinfo hints = {0}, *res;
    hints.ai_family = AF_INET; hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(argv[1], argv[2], &hints, &res) != 0) { fprintf(stderr, "bad address\n"); return 2; }
    for (int tries = 0; ; tries++) {           /* the endpoint may not be listening yet */
        sock = socket(res->ai_family, res->ai_socktype, 0);
        if (connect(sock, res->ai_addr, res->ai_addrlen) == 0) break;
        close(sock);
        if (tries > 300) { perror("connect"); return 1; }
        struct timespec pause = {0, 20000000};
        nanosleep(&pause, NULL);
    }
    freeaddrinfo(res);
    int one = 1;
    setsockopt(sock, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);

    uint8_t hello[64];                           /* version, name, rate, budget, subs, pid */
    size_t n = strlen(name);
    put16(hello, 1); hello[2] = (uint8_t)n; memcpy(hello + 3, name, n);
    putf64(hello + 3 + n, 1.0); putf64(hello + 11 + n, 5.0);
    put32(hello + 19 + n, 0); put32(hello + 23 + n, (uint32_t)getpid());
    send_packet(HELLO, 0, hello, 27 + n);

    uint8_t head[6], body[65536 + 1], state[162] = {0};
    for (;;) {
        if (!read_all(head, 6)) return 1;             /* the engine closed the connection */
        uint16_t apid = (uint16_t)((head[0] & 7) << 8 | head[1]);
        size_t len = (size_t)(head[4] << 8 | head[5]) + 1;
        if (!read_all(body, len)) return 1;
        uint64_t t = get64(body);
        const uint8_t *d = body + 8;
        if (apid == CONFIG) {
            step_done(t, START_STEP, 0, 0);
        } else if (apid == STATE && len - 8 >= sizeof state) {
            memcpy(state, d, sizeof state);
        } else if (apid == TIME) {
            uint64_t c0 = cpu_ns();
            uint32_t step = get32(d), n_ticks = get32(d + 12);
            uint64_t first_ns = get64(d + 16), period = get64(d + 24), first = get64(d + 32);
            for (uint32_t i = 0; i < n_ticks; i++) {
                uint8_t tm[256];
                size_t k = 2;
                k += point(tm + k, "c.tick", (double)(first + i));
                k += point(tm + k, "c.step", (double)step);
                k += point(tm + k, "c.lat_deg", getf64(state + STATE_LAT_DEG));
                k += point(tm + k, "c.soc", getf64(state + STATE_SOC));
                put16(tm, 4);
                send_packet(TELEMETRY, first_ns + i * period, tm, k);
            }
            step_done(t, step, cpu_ns() - c0, n_ticks);
        } else if (apid == STOP) {
            step_done(t, STOP_STEP, 0, 0);
            return 0;
        }                                              /* bus-deliver: nothing subscribed */
    }
}
