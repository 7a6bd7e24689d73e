// A small driver of two engines without Node, for valgrind memcheck (native/sanitize/run.sh):
// engine "va" on vA and engine "vb" on vB, the two ends of a veth pair in a network namespace of
// their own (run.sh creates it). Both beat and exchange a cluster message; vb stops and va must
// declare it dead; then va stops. Exits 0 when that happened, 1 (naming what is missing) when
// not; valgrind's own exit code reports memory errors.
#include <chrono>
#include <cstdio>
#include <mutex>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "engine.h"

namespace {

struct Seen {
  std::mutex mu;
  int statuses = 0;
  int messages = 0;
  bool peerUp = false;
  bool peerDead = false;
};

hbd::EngineOptions Options(const std::string& self, const std::string& iface, int64_t generation) {
  hbd::EngineOptions o;
  o.liveness.localNode = self;
  o.liveness.nodes = {"va", "vb"};
  o.liveness.keepaliveMs = 100;
  o.liveness.deadtimeMs = 1500;
  o.liveness.warntimeMs = 750;
  o.liveness.initdeadMs = 3000;
  hbd::MediumSpec m;
  m.kind = hbd::MediumSpec::Kind::Bcast;
  m.iface = iface;
  o.media.push_back(m);
  o.udpPort = 694;
  o.stallLimitMs = 600000;  // valgrind slows the JavaScript stand-in (this thread) too
  o.authKeys.send_index = 1;
  o.authKeys.keys.push_back({1, hbd::AuthMethod::Sha1, "sanitize-driver"});
  o.uuid = std::string(16, static_cast<char>(self == "va" ? 1 : 2));
  o.generation = generation;
  o.ttl = 3;
  return o;
}

hbd::EventSink SinkFor(Seen& seen, const std::string& peer) {
  return [&seen, peer](std::vector<hbd::EngineEvent>&& events) {
    std::lock_guard<std::mutex> lock(seen.mu);
    for (const auto& e : events) {
      // The engine passes a peer's first status and any change as a status event and reports
      // the unchanged ones after it in runs (native/status_filter.h): both are statuses heard.
      if (std::holds_alternative<hbd::StatusEvent>(e.body)) seen.statuses++;
      if (const auto* run = std::get_if<hbd::StatusAdvanceEvent>(&e.body)) seen.statuses += static_cast<int>(run->monos.size());
      if (std::holds_alternative<hbd::MessageEvent>(e.body)) seen.messages++;
      if (const auto* l = std::get_if<hbd::LivenessEvent>(&e.body)) {
        if (l->node != peer) continue;
        if (l->type == hbd::LivenessEvent::Type::PeerUp) seen.peerUp = true;
        if (l->type == hbd::LivenessEvent::Type::PeerDead) seen.peerDead = true;
      }
    }
  };
}

// Waits (checking in, as JavaScript does) until `done` holds or `ms` pass.
template <typename Pred>
bool Wait(hbd::Engine& a, hbd::Engine* b, Seen& seen, int ms, Pred done) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  while (std::chrono::steady_clock::now() < end) {
    a.CheckIn();
    if (b) b->CheckIn();
    {
      std::lock_guard<std::mutex> lock(seen.mu);
      if (done(seen)) return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

}  // namespace

int main() {
  Seen seenByA;
  Seen seenByB;
  hbd::Engine a(Options("va", "vA", 11), SinkFor(seenByA, "vb"));
  hbd::Engine b(Options("vb", "vB", 22), SinkFor(seenByB, "va"));
  for (hbd::Engine* e : {&a, &b}) {
    if (auto err = e->Start()) {
      std::fprintf(stderr, "engine_driver: cannot start %s: %s: errno %d (%s)\n", err->medium.c_str(), err->error.syscall.c_str(), err->error.err, err->error.detail.c_str());
      return 1;
    }
    e->SetStatus("active");
    e->SetCommUp();
  }
  if (!Wait(a, &b, seenByA, 20000, [](Seen& s) { return s.peerUp && s.statuses >= 5; })) {
    std::fprintf(stderr, "engine_driver: va never saw vb up\n");
    return 1;
  }
  hbd::Message m;
  m.push_back(hbd::Field{"t", hbd::FieldType::String, "hbd-driver", {}});
  m.push_back(hbd::Field{"payload", hbd::FieldType::String, std::string(200, 'x'), {}});
  for (int i = 0; i < 5; i++) b.Send(m);
  if (!Wait(a, &b, seenByA, 20000, [](Seen& s) { return s.messages >= 5; })) {
    std::fprintf(stderr, "engine_driver: va did not get vb's messages\n");
    return 1;
  }
  b.Stop();
  if (!Wait(a, nullptr, seenByA, 30000, [](Seen& s) { return s.peerDead; })) {
    std::fprintf(stderr, "engine_driver: va never declared vb dead\n");
    return 1;
  }
  a.Stop();
  std::lock_guard<std::mutex> lock(seenByA.mu);
  std::printf("engine_driver: va saw %d statuses, %d messages, vb up then dead\n", seenByA.statuses, seenByA.messages);
  return 0;
}
