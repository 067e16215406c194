/* The small internet behind localnet's exit gateway: real servers on
 * loopback (nginx, dnsmasq, a WebSocket echo server, httpbin), a test CA
 * that signed their certificates, and the map from the virtual internet
 * addresses clients use onto the 127.0.0.1 ports the servers listen on.
 *
 * Everything binds to 127.0.0.1 on ports picked at start, writes only into
 * the run directory, and is stopped by PID, so several instances can run
 * side by side, as a normal user or as root. */
#ifndef LOCALNET_SERVICES_H
#define LOCALNET_SERVICES_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The test zone served by dnsmasq; every other name answers NXDOMAIN. */
#define SERVICES_ZONE "mixnet.test"

/* Virtual hosts: each name resolves (A) to its address in the test zone. */
#define SERVICES_NGINX_NAME "nginx." SERVICES_ZONE
#define SERVICES_NGINX_IP "192.0.2.10"
/* The only AAAA record: DNS answers it, but the exit routes IPv4 only. */
#define SERVICES_NGINX_IPV6 "2001:db8::10"
#define SERVICES_HTTPBIN_NAME "httpbin." SERVICES_ZONE
#define SERVICES_HTTPBIN_IP "192.0.2.11"
#define SERVICES_WS_NAME "ws." SERVICES_ZONE
#define SERVICES_WS_IP "192.0.2.12"
/* nginx's certificate also names this wildcard (for one label only) */
#define SERVICES_WILDCARD_NAME "*.wild." SERVICES_ZONE
/* HTTPS servers whose certificates a client must reject. */
#define SERVICES_EXPIRED_NAME "expired." SERVICES_ZONE
#define SERVICES_EXPIRED_IP "203.0.113.10"
/* Its certificate names only SERVICES_ELSEWHERE_NAME. */
#define SERVICES_WRONG_HOST_NAME "wrong-host." SERVICES_ZONE
#define SERVICES_WRONG_HOST_IP "203.0.113.11"
#define SERVICES_ELSEWHERE_NAME "elsewhere." SERVICES_ZONE
#define SERVICES_SELF_SIGNED_NAME "self-signed." SERVICES_ZONE
#define SERVICES_SELF_SIGNED_IP "203.0.113.12"
/* Signed by a second CA that no client trusts. */
#define SERVICES_UNKNOWN_CA_NAME "unknown-ca." SERVICES_ZONE
#define SERVICES_UNKNOWN_CA_IP "203.0.113.13"
/* The resolvers clients are configured with; both are dnsmasq. */
#define SERVICES_RESOLVER1_NAME "resolver1." SERVICES_ZONE
#define SERVICES_RESOLVER1_IP "8.8.8.8"
#define SERVICES_RESOLVER2_NAME "resolver2." SERVICES_ZONE
#define SERVICES_RESOLVER2_IP "1.1.1.1"

/* nginx's static tree, generated at start under <run_dir>/www:
 *   /index.html, /small.txt        small files (SERVICES_SMALL_TXT)
 *   /lines.txt                     16384 lines "lines.txt line 00001\n"... (344064 bytes)
 *   /random-10MiB.bin              SERVICES_PATTERN_SIZE bytes, see services_pattern_byte
 *   /chunked/<file>                any .txt or .html file above, sent chunked (SSI filter)
 *   /gzip/<file>                   any file above, gzip'd when the client accepts it (chunked)
 *   /redirect/3 -> /redirect/2 -> /redirect/1 -> /small.txt   302s with relative Locations
 *   /status/204, /status/304       bodiless answers; a conditional GET also gets 304
 * The HTTPS servers with bad certificates answer every path with one line. */
#define SERVICES_SMALL_TXT "hello from the localnet nginx\n"
#define SERVICES_PATTERN_PATH "/random-10MiB.bin"
#define SERVICES_PATTERN_SIZE (10u * 1024u * 1024u)

/* nginx's access log, relative to the run directory. Each line ends with
 * "connection=<$connection> requests=<$connection_requests>", so a test
 * sees whether a client reused a keep-alive connection. */
#define SERVICES_NGINX_ACCESS_LOG "nginx-access.log"

typedef enum { SERVICE_PROTO_TCP, SERVICE_PROTO_UDP } service_proto;

/* One virtual address the exit answers for, and where it really goes. */
typedef struct {
    const char *name;       /* host name in the test zone */
    const char *virtual_ip; /* dotted IPv4 that clients connect to */
    uint16_t virtual_port;
    service_proto proto;
    uint16_t real_port;     /* on 127.0.0.1 */
} service_route;

/* nginx and httpbin on 80 and 443, ws on 80 (ws) and 443 (wss), the four
 * bad-certificate servers on 443, and the two resolvers on 53 over UDP
 * and TCP. */
enum { SERVICES_ROUTE_COUNT = 14, SERVICES_PROCESS_COUNT = 5, SERVICES_PATH_MAX = 4096 };

/* nginx also terminates TLS for up to this many gateway ws listeners, as
 * real nym-nodes' reverse proxies do; the certificate names this host. */
#define SERVICES_GATEWAY_PROXIES 2
#define SERVICES_GATEWAY_HOST "localhost"

typedef struct {
    const char *name; /* for messages: "nginx", "dnsmasq", ... */
    pid_t pid;        /* 0 once stopped */
    char log_path[SERVICES_PATH_MAX];
} service_process;

typedef struct {
    char run_dir[SERVICES_PATH_MAX];
    /* The test CA (PEM) that clients add as a trust anchor. */
    char ca_pem_path[SERVICES_PATH_MAX];
    service_route routes[SERVICES_ROUTE_COUNT];
    service_process processes[SERVICES_PROCESS_COUNT];
    /* Write end of ws-echo's stdin: it exits when this closes. */
    int ws_echo_stdin_fd;
    /* the gateways' ws ports behind the proxies, and the wss ports in front (0: none) */
    uint16_t gateway_ws_ports[SERVICES_GATEWAY_PROXIES];
    uint16_t gateway_wss_ports[SERVICES_GATEWAY_PROXIES];
} services;

/* Generates certificates, configuration and the static tree into run_dir
 * (which must exist), starts every server and returns once each one
 * accepts connections. Returns 0, or -1 after printing to stderr which
 * service failed (with the tail of its log) and stopping the others.
 * The servers die with the calling thread (PR_SET_PDEATHSIG on Linux), so
 * call this from a thread that lives as long as they should; SIGCHLD must
 * not be ignored, since services_stop reaps them. gateway_ws_ports (may be
 * NULL) are ws listeners on 127.0.0.1 to put behind TLS proxies. */
int services_start(const char *run_dir, const uint16_t gateway_ws_ports[SERVICES_GATEWAY_PROXIES], services *out);

/* Stops every server: SIGTERM (gunicorn: SIGQUIT, its quick shutdown),
 * then SIGKILL to its whole process group after a grace period; reaps
 * them. For an instance services_start filled in, even one that failed;
 * calling it again does nothing. */
void services_stop(services *s);

/* The route for a virtual address, or NULL if the small internet has none. */
const service_route *services_route_find(const services *s, const char *virtual_ip, uint16_t virtual_port,
                                         service_proto proto);

/* Writes the services' members of localnet's JSON status line, without the
 * surrounding braces:
 *   "test_ca_pem":"<path>","dns_zone":"mixnet.test","dns_servers":["8.8.8.8","1.1.1.1"],
 *   "services":[{"name":"nginx.mixnet.test","ip":"192.0.2.10","port":80,"proto":"tcp",
 *                "real_port":40001},...]
 * Returns its length, or -1 if it does not fit in cap bytes (with the NUL). */
int services_status_json(const services *s, char *buf, size_t cap);

/* The byte at offset i of /random-10MiB.bin, so a test can recompute it:
 * bytes 4k..4k+3 are the little-endian bytes of mix32(k + 1), where on
 * uint32 values
 *   mix32(x): x ^= x >> 16; x *= 0x7feb352d; x ^= x >> 15; x *= 0x846ca68b; x ^= x >> 16
 * (in JavaScript: Math.imul for the products, >>> 0 to stay unsigned). */
uint8_t services_pattern_byte(uint64_t offset);

#endif
