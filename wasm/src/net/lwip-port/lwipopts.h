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
#define MEM_SIZE (256 * 1024)
#define TCP_MSS 1380
#define TCP_WND (32 * TCP_MSS)
#define TCP_SND_BUF (32 * TCP_MSS)
#define TCP_SND_QUEUELEN (4 * TCP_SND_BUF / TCP_MSS)
#define MEMP_NUM_TCP_SEG TCP_SND_QUEUELEN
#define PBUF_POOL_SIZE 64
#define PBUF_POOL_BUFSIZE 1536
#define MEMP_NUM_TCP_PCB 64
#define MEMP_NUM_UDP_PCB 16

#endif
