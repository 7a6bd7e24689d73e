#include "liveness_js.h"

#include <limits>
#include <memory>

#include "js_values.h"

namespace hbd {

namespace {

constexpr double kMaxMs = 24.0 * 3600 * 1000;  // a day: far beyond any sane heartbeat timing
constexpr int64_t kMaxWireInt = (int64_t{1} << 53) - 1;
constexpr double kMaxWireDouble = std::numeric_limits<double>::max();

Napi::Array EventsToJs(const Napi::Env& env, const std::vector<LivenessEvent>& events) {
  Napi::Array a = Napi::Array::New(env, events.size());
  for (uint32_t i = 0; i < events.size(); i++) {
    Napi::Object o = Napi::Object::New(env);
    SetLivenessEventFields(o, events[i]);
    a.Set(i, o);
  }
  return a;
}

Napi::Object OutcomeToJs(const Napi::Env& env, const StatusOutcome& r) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("accepted", Napi::Boolean::New(env, r.accepted));
  o.Set("events", EventsToJs(env, r.events));
  return o;
}

double NumberArg(const Napi::CallbackInfo& info, size_t i, const char* what) {
  if (!info[i].IsNumber()) throw Napi::TypeError::New(info.Env(), std::string("LivenessTracker: ") + what + " must be a number (got " + Describe(info[i]) + ")");
  return info[i].As<Napi::Number>().DoubleValue();
}

std::string StringArg(const Napi::CallbackInfo& info, size_t i, const char* what) {
  if (!info[i].IsString()) throw Napi::TypeError::New(info.Env(), std::string("LivenessTracker: ") + what + " must be a string (got " + Describe(info[i]) + ")");
  return info[i].As<Napi::String>().Utf8Value();
}

class LivenessTracker : public Napi::ObjectWrap<LivenessTracker> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "LivenessTracker",
                       {
                           InstanceMethod<&LivenessTracker::IsPeer>("isPeer"),
                           InstanceMethod<&LivenessTracker::IsPingNode>("isPingNode"),
                           InstanceMethod<&LivenessTracker::State>("state"),
                           InstanceMethod<&LivenessTracker::SetCommUp>("setCommUp"),
                           InstanceMethod<&LivenessTracker::Status>("status"),
                           InstanceMethod<&LivenessTracker::MarkDead>("markDead"),
                           InstanceMethod<&LivenessTracker::Packet>("packet"),
                           InstanceMethod<&LivenessTracker::Ping>("ping"),
                           InstanceMethod<&LivenessTracker::Stalled>("stalled"),
                           InstanceMethod<&LivenessTracker::Tick>("tick"),
                           InstanceMethod<&LivenessTracker::NextDeadline>("nextDeadline"),
                       });
  }

  // new LivenessTracker(cfg: LivenessConfig, startMono: number)
  explicit LivenessTracker(const Napi::CallbackInfo& info) : Napi::ObjectWrap<LivenessTracker>(info) {
    const std::string where = "LivenessTracker config";
    Napi::Object cfg = ObjectArg(info.Env(), info[0], where);
    LivenessConfig c = LivenessConfigFromJs(cfg, where);
    if (!cfg.Get("pingNodes").IsUndefined()) c.pingNodes = StringArrayProp(cfg, where, "pingNodes");
    live_ = std::make_unique<Liveness>(std::move(c), NumberArg(info, 1, "startMono"));
  }

 private:
  Napi::Value IsPeer(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), live_->IsPeer(StringArg(info, 0, "node"))); }

  Napi::Value IsPingNode(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), live_->IsPingNode(StringArg(info, 0, "node"))); }

  Napi::Value State(const Napi::CallbackInfo& info) {
    const char* s = live_->PeerState(StringArg(info, 0, "node"));
    return s ? Napi::String::New(info.Env(), s) : info.Env().Undefined();
  }

  void SetCommUp(const Napi::CallbackInfo&) { live_->SetCommUp(); }

  Napi::Value Status(const Napi::CallbackInfo& info) {
    const double now = NumberArg(info, 0, "now");
    Napi::Object o = ObjectArg(info.Env(), info[1], "LivenessTracker.status input");
    const std::string where = "LivenessTracker.status input";
    const std::string node = StringProp(o, where, "node");
    const std::string link = StringProp(o, where, "link");
    const std::string status = StringProp(o, where, "status", true);
    StatusInput s;
    s.node = node;
    s.link = link;
    s.status = status;
    s.generation = IntegerProp(o, where, "generation", 0, kMaxWireInt);
    s.seq = IntegerProp(o, where, "seq", 0, kMaxWireInt);
    // Any number: the tracker clamps what a peer advertises (the wire allows 64-bit hex).
    s.dtMs = NumberProp(o, where, "dtMs", -kMaxWireDouble, kMaxWireDouble);
    return OutcomeToJs(info.Env(), live_->Status(now, s));
  }

  void MarkDead(const Napi::CallbackInfo& info) { live_->MarkDead(StringArg(info, 0, "node")); }

  Napi::Value Packet(const Napi::CallbackInfo& info) {
    const double now = NumberArg(info, 0, "now");
    const std::string node = StringArg(info, 1, "node");
    const std::string link = StringArg(info, 2, "link");
    const double generation = NumberArg(info, 3, "generation");
    const double seq = info.Length() > 4 && !info[4].IsUndefined() && !info[4].IsNull() ? NumberArg(info, 4, "seq") : -1;
    return OutcomeToJs(info.Env(), live_->Packet(now, node, link, static_cast<int64_t>(generation), static_cast<int64_t>(seq)));
  }

  Napi::Value Ping(const Napi::CallbackInfo& info) {
    const double now = NumberArg(info, 0, "now");
    const std::string node = StringArg(info, 1, "node");
    return OutcomeToJs(info.Env(), live_->Ping(now, node, StringArg(info, 2, "link")));
  }

  Napi::Value Stalled(const Napi::CallbackInfo& info) {
    return EventsToJs(info.Env(), live_->Stalled(NumberArg(info, 0, "now"), NumberArg(info, 1, "lateMs")));
  }

  Napi::Value Tick(const Napi::CallbackInfo& info) { return EventsToJs(info.Env(), live_->Tick(NumberArg(info, 0, "now"))); }

  Napi::Value NextDeadline(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), live_->NextDeadline()); }

  std::unique_ptr<Liveness> live_;
};

}  // namespace

LivenessConfig LivenessConfigFromJs(const Napi::Object& o, const std::string& where) {
  LivenessConfig c;
  c.localNode = StringProp(o, where, "localNode");
  c.nodes = StringArrayProp(o, where, "nodes");
  c.keepaliveMs = NumberProp(o, where, "keepaliveMs", 1, kMaxMs);
  c.deadtimeMs = NumberProp(o, where, "deadtimeMs", 1, kMaxMs);
  c.warntimeMs = NumberProp(o, where, "warntimeMs", 1, kMaxMs);
  c.initdeadMs = NumberProp(o, where, "initdeadMs", 1, kMaxMs);
  c.deadpingMs = o.Get("deadpingMs").IsUndefined() ? c.deadtimeMs : NumberProp(o, where, "deadpingMs", 1, kMaxMs);
  return c;
}

void SetLivenessEventFields(Napi::Object o, const LivenessEvent& e) {
  Napi::Env env = o.Env();
  using T = LivenessEvent::Type;
  o.Set("type", LivenessEventName(e.type));
  if (e.type == T::OwnStall) {
    o.Set("lateMs", Napi::Number::New(env, e.lateMs));
    if (e.cause) {
      Napi::Object c = Napi::Object::New(env);
      c.Set("runDelayMs", Napi::Number::New(env, e.cause->runDelayMs));
      c.Set("involuntary", JsInt(env, e.cause->involuntary));
      c.Set("blockedSleeps", JsInt(env, e.cause->blockedSleeps));
      c.Set("minorFaults", JsInt(env, e.cause->minorFaults));
      c.Set("majorFaults", JsInt(env, e.cause->majorFaults));
      c.Set("cpu", Napi::Number::New(env, e.cause->cpu));
      c.Set("busyMs", Napi::Number::New(env, e.cause->busyMs));
      c.Set("sentinelBeats", JsInt(env, e.cause->sentinelBeats));
      o.Set("cause", c);
    }
    return;
  }
  o.Set("node", e.node);
  switch (e.type) {
    case T::PeerUp:
      o.Set("link", e.link);
      o.Set("status", e.status);
      o.Set("generation", JsInt(env, e.generation));
      o.Set("restarted", Napi::Boolean::New(env, e.restarted));
      o.Set("returned", Napi::Boolean::New(env, e.returned));
      break;
    case T::PeerLate:
      o.Set("link", e.link);
      o.Set("gapMs", Napi::Number::New(env, e.gapMs));
      break;
    case T::PeerDead:
      o.Set("silentMs", Napi::Number::New(env, e.silentMs));
      o.Set("timeoutMs", Napi::Number::New(env, e.timeoutMs));
      break;
    case T::PeerRestart:
      o.Set("oldGeneration", JsInt(env, e.oldGeneration));
      o.Set("generation", JsInt(env, e.generation));
      break;
    case T::Replay:
      o.Set("generation", JsInt(env, e.generation));
      o.Set("currentGeneration", JsInt(env, e.currentGeneration));
      break;
    case T::LinkUp:
    case T::LinkDead:
      o.Set("link", e.link);
      break;
    case T::OwnStall:
      break;
  }
}

void InitLivenessTracker(Napi::Env env, Napi::Object exports) { exports.Set("LivenessTracker", LivenessTracker::Define(env)); }

}  // namespace hbd
