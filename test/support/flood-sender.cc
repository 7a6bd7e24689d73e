// A packet flood for the engine's boundary tests and bench/flood: sends the given datagrams in
// rotation to ip:port as fast as the kernel takes them (sendmmsg, 64 per call), or at `rate`
// packets per second, from `sources` sockets (each its own source port), for `seconds`.
//   flood-sender <ip> <port> <seconds> <rate|0> <sources> <hex payload>...
// Prints one JSON line: {"sent":N,"seconds":S,"rate":R}. Built by test/support/flood.ts.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

double Now() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

bool FromHex(const char* s, std::string* out) {
  const std::string h(s);
  if (h.size() % 2 != 0) return false;
  for (size_t i = 0; i < h.size(); i += 2) out->push_back(static_cast<char>(std::strtoul(h.substr(i, 2).c_str(), nullptr, 16)));
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 7) {
    std::fprintf(stderr, "usage: flood-sender <ip> <port> <seconds> <rate|0> <sources> <hex payload>...\n");
    return 2;
  }
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(static_cast<uint16_t>(std::atoi(argv[2])));
  if (inet_pton(AF_INET, argv[1], &to.sin_addr) != 1) {
    std::fprintf(stderr, "flood-sender: bad address %s\n", argv[1]);
    return 2;
  }
  const double seconds = std::atof(argv[3]);
  const double rate = std::atof(argv[4]);
  const int sources = std::max(1, std::atoi(argv[5]));
  std::vector<std::string> payloads;
  for (int i = 6; i < argc; i++) {
    std::string p;
    if (!FromHex(argv[i], &p) || p.empty()) {
      std::fprintf(stderr, "flood-sender: payload %d is not hex\n", i - 5);
      return 2;
    }
    payloads.push_back(std::move(p));
  }
  std::vector<int> socks;
  for (int i = 0; i < sources; i++) {
    const int fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0) {
      std::perror("flood-sender: socket");
      return 1;
    }
    const int on = 1;
    setsockopt(fd, SOL_SOCKET, SO_BROADCAST, &on, sizeof on);
    socks.push_back(fd);
  }
  constexpr int kBatch = 64;
  mmsghdr msgs[kBatch] = {};
  iovec iovs[kBatch];
  unsigned long long sent = 0;
  size_t next = 0;
  const double start = Now();
  for (unsigned round = 0;; round++) {
    const double elapsed = Now() - start;
    if (elapsed >= seconds) break;
    if (rate > 0 && sent > elapsed * rate) {
      const timespec nap{0, 200000};
      nanosleep(&nap, nullptr);
      continue;
    }
    for (int k = 0; k < kBatch; k++) {
      const std::string& p = payloads[next++ % payloads.size()];
      iovs[k] = {const_cast<char*>(p.data()), p.size()};
      msgs[k].msg_hdr.msg_iov = &iovs[k];
      msgs[k].msg_hdr.msg_iovlen = 1;
      msgs[k].msg_hdr.msg_name = &to;
      msgs[k].msg_hdr.msg_namelen = sizeof to;
    }
    const int n = sendmmsg(socks[round % socks.size()], msgs, kBatch, 0);
    if (n > 0) sent += static_cast<unsigned>(n);
  }
  const double took = Now() - start;
  std::printf("{\"sent\":%llu,\"seconds\":%.3f,\"rate\":%.0f}\n", sent, took, sent / took);
  return 0;
}
