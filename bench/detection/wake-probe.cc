// The detection soak's control experiment: one SCHED_FIFO thread per CPU (the engine's priority),
// each pinned, each sleeping to absolute 1 ms slots and noting every wake-up later than a threshold,
// with the run-queue wait its own schedstat counted meanwhile; and a normal thread reading each
// CPU's steal ticks from /proc/stat every 20 ms. When the engine wakes late, a probe late on the
// same CPU at the same moment shows that any thread of that priority would have been: the cause
// is the machine (the hypervisor or the kernel), not the engine's code.
//
//   wake-probe <seconds> <threshold µs> <rtprio>   → JSON lines on stdout when done:
//   {"late":{"cpu":1,"mono":123.456,"lateMs":9.1,"runDelayMs":0.01}}   (mono: CLOCK_MONOTONIC, ms)
//   {"steal":{"mono":123.4,"ticks":[6735,6763]}}
//   {"wakes":[60000,60000]}
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

namespace {

constexpr long kPeriodNs = 1000000;
constexpr size_t kMaxEvents = 100000;

long long Mono() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

long long RunDelay(int fd) {
  char buf[96];
  const ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
  if (n <= 0) return 0;
  buf[n] = '\0';
  char* end = nullptr;
  std::strtoll(buf, &end, 10);
  return std::strtoll(end, &end, 10);
}

struct Late {
  int cpu;
  long long mono, late, runDelay;
};

struct Probe {
  int cpu = 0;
  long long wakes = 0;
  std::vector<Late> lates;
};

std::atomic<bool> stop{false};

void RunProbe(Probe* p, long long thresholdNs, int prio) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(p->cpu, &set);
  if (pthread_setaffinity_np(pthread_self(), sizeof set, &set) != 0) std::fprintf(stderr, "wake-probe: cannot pin to CPU %d\n", p->cpu);
  sched_param sp{};
  sp.sched_priority = prio;
  if (pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp) != 0) std::fprintf(stderr, "wake-probe: SCHED_FIFO %d refused\n", prio);
  const int fd = open("/proc/thread-self/schedstat", O_RDONLY | O_CLOEXEC);
  p->lates.reserve(kMaxEvents);
  long long next = Mono() + kPeriodNs;
  long long delayBefore = RunDelay(fd);
  while (!stop.load(std::memory_order_relaxed)) {
    timespec ts{static_cast<time_t>(next / 1000000000), static_cast<long>(next % 1000000000)};
    clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr);
    const long long now = Mono();
    const long long delay = RunDelay(fd);
    p->wakes++;
    if (now - next > thresholdNs && p->lates.size() < kMaxEvents) p->lates.push_back({p->cpu, now, now - next, delay - delayBefore});
    delayBefore = delay;
    next += kPeriodNs;
    if (next < now) next = now - (now - next) % kPeriodNs + kPeriodNs;  // skip missed slots
  }
  close(fd);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: wake-probe <seconds> <threshold µs> <rtprio>\n");
    return 2;
  }
  const double seconds = std::atof(argv[1]);
  const long long thresholdNs = std::atoll(argv[2]) * 1000;
  const int prio = std::atoi(argv[3]);
  mlockall(MCL_CURRENT | MCL_FUTURE);
  const int ncpu = static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN));
  std::vector<Probe> probes(ncpu);
  std::vector<std::thread> threads;
  for (int c = 0; c < ncpu; c++) {
    probes[c].cpu = c;
    threads.emplace_back(RunProbe, &probes[c], thresholdNs, prio);
  }
  // Steal, from the normal-priority main thread: "cpuN user nice system idle iowait irq softirq steal".
  struct Steal {
    long long mono;
    std::vector<long long> ticks;
  };
  std::vector<Steal> steals;
  const long long end = Mono() + static_cast<long long>(seconds * 1e9);
  char buf[8192];
  while (Mono() < end) {
    const int fd = open("/proc/stat", O_RDONLY | O_CLOEXEC);
    const ssize_t n = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
    if (fd >= 0) close(fd);
    if (n > 0) {
      buf[n] = '\0';
      Steal s{Mono(), {}};
      for (char* line = std::strstr(buf, "\ncpu"); line && s.ticks.size() < static_cast<size_t>(ncpu); line = std::strstr(line + 1, "\ncpu")) {
        long long v[8] = {};
        int cpu = -1;
        if (std::sscanf(line + 1, "cpu%d %lld %lld %lld %lld %lld %lld %lld %lld", &cpu, &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]) == 9) s.ticks.push_back(v[7]);
      }
      steals.push_back(std::move(s));
    }
    usleep(20000);
  }
  stop = true;
  for (auto& t : threads) t.join();
  for (const Probe& p : probes) {
    for (const Late& l : p.lates) std::printf("{\"late\":{\"cpu\":%d,\"mono\":%.3f,\"lateMs\":%.3f,\"runDelayMs\":%.3f}}\n", l.cpu, l.mono / 1e6, l.late / 1e6, l.runDelay / 1e6);
  }
  for (const Steal& s : steals) {
    std::printf("{\"steal\":{\"mono\":%.3f,\"ticks\":[", s.mono / 1e6);
    for (size_t i = 0; i < s.ticks.size(); i++) std::printf("%s%lld", i ? "," : "", s.ticks[i]);
    std::printf("]}}\n");
  }
  std::printf("{\"wakes\":[");
  for (size_t i = 0; i < probes.size(); i++) std::printf("%s%lld", i ? "," : "", probes[i].wakes);
  std::printf("]}\n");
  return 0;
}
