/* lwIP configuration: the raw API only, one single-threaded event loop,
 * IPv4 TCP and UDP on a virtual interface fed by the IP Packet Router. */
#ifndef MIX_LWIPOPTS_H
#define MIX_LWIPOPTS_H

#define NO_SYS 1
#define SYS_LIGHTWEIGHT_PROT 0
#define LWIP_SOCKET 0
#define LWIP_NETCONN 0
#define LWIP_IPV4 1
#define LWIP_IPV6 0
#define LWIP_TCP 1
#define LWIP_UDP 1
#define LWIP_ARP 0
#define LWIP_ETHERNET 0
#define LWIP_DHCP 0
#define LWIP_AUTOIP 0
#define LWIP_IGMP 0
#define LWIP_ICMP 1
#define LWIP_RAW 0
#define LWIP_DNS 0
#define LWIP_STATS 0
/* a failed lwIP assertion must not abort the worker; errors come back as err_t */
#define LWIP_NOASSERT 1

#define MEM_ALIGNMENT 8
/* The heap holds what TCP sends until it is acknowledged (writes are
 * copied): two full send buffers; a write beyond that fails and is tried
 * again once acknowledgements free memory. */
#define MEM_SIZE (512 * 1024)
/* The most a 1500-byte MTU allows (NET_MAX_MTU in net/net.h). Each
 * connection's MSS comes from the interface MTU (MTU - 40, since
 * TCP_CALCULATE_EFF_SEND_MSS is on), so the exit never fragments. */
#define TCP_MSS 1460
/* The mixnet's round trip is long (about 150 ms on localnet's delays,
 * more on the real network): a 64 KB window would hold a download to
 * 64 KB per round trip. Window scaling gives 256 KB (a shift of 2). lwIP
 * still takes tcp_recved and tcp_write 16 bits at a time: net.c and
 * localnet's exit split larger amounts. */
#define LWIP_WND_SCALE 1
#define TCP_RCV_SCALE 2
#define TCP_WND (176 * TCP_MSS)
#define TCP_SND_BUF (176 * TCP_MSS)
#define TCP_SND_QUEUELEN (2 * TCP_SND_BUF / TCP_MSS)
/* writable again with this much room (lwIP's default, half the buffer,
 * would not fit its 16-bit counters) */
#define TCP_SNDLOWAT (32 * TCP_MSS)
/* segments queued to send plus out-of-order segments kept, all connections */
#define MEMP_NUM_TCP_SEG 1024
/* keep-alive probes where the application asks for them (net_tcp_options) */
#define LWIP_TCP_KEEPALIVE 1
/* The mixnet reorders and loses packets: selective acknowledgements let
 * the sender resend only the holes. */
#define LWIP_TCP_SACK_OUT 1
/* Received packets are handed on at once; the pool mostly holds segments
 * behind a loss: one and a half full windows (about 400 KB). */
#define PBUF_POOL_SIZE 256
#define PBUF_POOL_BUFSIZE 1536
/* raw IP interfaces: no link-layer header in front of packets */
#define PBUF_LINK_HLEN 0
/* outgoing packets in one piece, handed to the tunnel without a copy */
#define LWIP_NETIF_TX_SINGLE_PBUF 1
/* unpredictable initial sequence numbers (lwIP's own are a counter) */
#define LWIP_HOOK_TCP_ISN(local_ip, local_port, remote_ip, remote_port) ((u32_t)lwip_port_random())
#define MEMP_NUM_TCP_PCB 64
/* localnet's exit (native, same options) listens on every virtual service: 12 */
#define MEMP_NUM_TCP_PCB_LISTEN 16
#define MEMP_NUM_UDP_PCB 16

#endif
