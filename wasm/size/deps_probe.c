/* Not shipped: links what the core will use of each dependency (lwIP's
 * IPv4 TCP and UDP, BearSSL's full TLS client, our crypto layer) so that
 * `make wasm-size` can report what the dependencies cost in the wasm. */
#include "crypto/crypto.h"

#include <bearssl.h>
#include <lwip/init.h>
#include <lwip/ip4.h>
#include <lwip/netif.h>
#include <lwip/tcp.h>
#include <lwip/timeouts.h>
#include <lwip/udp.h>

#include <emscripten.h>

uint32_t sys_now(void)
{
    return (uint32_t)emscripten_get_now();
}

uint32_t lwip_port_random(void)
{
    uint32_t r;
    random_bytes((uint8_t *)&r, sizeof r);
    return r;
}

static br_ssl_client_context tls_client;
static br_x509_minimal_context x509;
static unsigned char tls_buffer[BR_SSL_BUFSIZE_BIDI];
static struct netif probe_netif;

EMSCRIPTEN_KEEPALIVE int deps_probe(uint8_t *buf, size_t len)
{
    lwip_init();
    netif_add_noaddr(&probe_netif, NULL, NULL, ip4_input);
    struct tcp_pcb *pcb = tcp_new();
    tcp_connect(pcb, IP4_ADDR_ANY, 80, NULL);
    tcp_write(pcb, buf, (u16_t)len, TCP_WRITE_FLAG_COPY);
    tcp_output(pcb);
    tcp_recved(pcb, (u16_t)len);
    tcp_close(pcb);
    struct udp_pcb *udp = udp_new();
    udp_recv(udp, NULL, NULL);
    sys_check_timeouts();

    br_ssl_client_init_full(&tls_client, &x509, NULL, 0);
    br_ssl_engine_set_buffer(&tls_client.eng, tls_buffer, sizeof tls_buffer, 1);
    br_ssl_client_reset(&tls_client, "example.org", 0);
    size_t n;
    unsigned char *out = br_ssl_engine_sendrec_buf(&tls_client.eng, &n);
    br_ssl_engine_sendrec_ack(&tls_client.eng, n);
    unsigned char *in = br_ssl_engine_recvapp_buf(&tls_client.eng, &n);

    uint8_t key[LIONESS_KEY_LEN] = {0}, out32[64];
    x25519(out32, key, key);
    x25519_public_key(out32, key);
    ed25519_keypair_from_seed(out32, key, key);
    ed25519_sign(out32, buf, len, key);
    sha256(out32, buf, len);
    hmac_sha256(out32, key, 32, buf, len);
    hkdf_sha256(out32, 32, key, 32, buf, len, NULL, 0);
    aes128_ctr64be_xor(buf, len, key, key);
    chacha20_xor(buf, len, key, key, 0);
    blake2b(out32, 32, key, 64, buf, len);
    blake3_hash(out32, buf, len);
    hkdf_blake3(out32, 32, key, 16, buf, len, NULL, 0);
    gcm_siv_seal(buf, key, key, NULL, 0, buf, len);
    lioness_encrypt(buf, len, key);
    lioness_decrypt(buf, len, key);
    return ed25519_verify(out32, buf, len, key) + gcm_siv_open(buf, key, key, NULL, 0, buf, len) + (out != in) +
           udp_sendto(udp, NULL, IP4_ADDR_ANY, 53);
}
