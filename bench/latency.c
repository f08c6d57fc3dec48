/*
 * bench/latency.c: latency of a DNS server at a fixed query rate, for bench/qps.ts.
 *
 *   latency PORT PACKETS RATE SECONDS    (prints one line of JSON)
 *
 * PACKETS: DNS queries, each preceded by its 2-octet length (written by bench/qps.ts). Queries go to
 * 127.0.0.1:PORT from one connected UDP socket, evenly spaced (a busy loop sends what is due), with
 * the ID set to the sequence number. The send time is taken just before send(); the receive time is the
 * kernel's timestamp of the answer (SO_TIMESTAMPNS), so delays in this client do not count. An answer
 * that does not come within a second after the last send is lost. Loopback only.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_PACKETS 65536
#define MAX_LEN 512

static double now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_REALTIME, &t);
  return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static unsigned char packets[MAX_PACKETS][MAX_LEN];
static int lengths[MAX_PACKETS];

int main(int argc, char **argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: %s PORT PACKETS RATE SECONDS\n", argv[0]);
    return 2;
  }
  int port = atoi(argv[1]);
  double rate = atof(argv[3]), seconds = atof(argv[4]);
  FILE *f = fopen(argv[2], "rb");
  if (!f) { perror(argv[2]); return 2; }
  int n = 0;
  unsigned char h[2];
  while (n < MAX_PACKETS && fread(h, 1, 2, f) == 2) {
    int len = h[0] << 8 | h[1];
    if (len < 12 || len > MAX_LEN || fread(packets[n], 1, (size_t)len, f) != (size_t)len) break;
    lengths[n++] = len;
  }
  fclose(f);
  if (n == 0) { fprintf(stderr, "no queries in %s\n", argv[2]); return 2; }

  int s = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  int on = 1, rcvbuf = 8 << 20;
  setsockopt(s, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on);
  setsockopt(s, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons((unsigned short)port) };
  inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
  if (connect(s, (struct sockaddr *)&to, sizeof to) != 0) { perror("connect"); return 2; }

  long total = (long)(rate * seconds), sent = 0, answered = 0;
  double *sent_at = malloc(65536 * sizeof(double));
  double *lat = malloc((size_t)total * sizeof(double));
  if (!sent_at || !lat) return 2;
  for (int i = 0; i < 65536; i++) sent_at[i] = -1;
  unsigned char buf[4096];
  char control[256];
  double start = now_ns(), last_send = 0, until = 0;
  for (;;) {
    double t = now_ns();
    if (sent < total) {
      long due = (long)((t - start) / 1e9 * rate);
      if (due > total) due = total;
      while (sent < due) {
        unsigned char *p = packets[sent % n];
        int id = (int)(sent & 0xffff);
        p[0] = (unsigned char)(id >> 8);
        p[1] = (unsigned char)(id & 0xff);
        sent_at[id] = now_ns();
        if (send(s, p, (size_t)lengths[sent % n], 0) < 0 && errno != EAGAIN && errno != ECONNREFUSED) { perror("send"); return 1; }
        sent++;
      }
      if (sent == total) { last_send = now_ns(); until = last_send + 1e9; }
    } else if (t > until) {
      break;
    }
    for (;;) {
      struct iovec iov = { buf, sizeof buf };
      struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof control };
      ssize_t r = recvmsg(s, &m, 0);
      if (r < 0) break;
      if (r < 12) continue;
      double rx = -1;
      for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_TIMESTAMPNS) {
          struct timespec ts;
          memcpy(&ts, CMSG_DATA(c), sizeof ts);
          rx = (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
        }
      }
      int id = buf[0] << 8 | buf[1];
      if (rx < 0 || sent_at[id] < 0) continue;
      lat[answered++] = (rx - sent_at[id]) / 1e6;
      sent_at[id] = -1;
    }
  }
  qsort(lat, (size_t)answered, sizeof(double), cmp);
#define PCT(q) (answered ? lat[(long)((q) * answered) < answered ? (long)((q) * answered) : answered - 1] : -1.0)
  printf("{\"rate\":%g,\"seconds\":%g,\"sent\":%ld,\"answered\":%ld,\"lost\":%ld,\"achievedQps\":%.0f,"
         "\"p50Ms\":%.4f,\"p99Ms\":%.4f,\"p999Ms\":%.4f,\"maxMs\":%.4f}\n",
         rate, seconds, sent, answered, sent - answered, (double)sent / ((last_send - start) / 1e9),
         PCT(0.5), PCT(0.99), PCT(0.999), answered ? lat[answered - 1] : -1.0);
  return 0;
}
