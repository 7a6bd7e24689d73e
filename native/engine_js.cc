#include "engine_js.h"

#include <netinet/in.h>
#include <arpa/inet.h>
#include <net/if.h>

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <set>

#include "actions_js.h"
#include "control.h"
#include "convert.h"
#include "engine.h"
#include "guarded.h"
#include "js_values.h"
#include "liveness_js.h"
#include "pi_mutex.h"
#include "sd_notify.h"

namespace hbd {

namespace {

constexpr double kMaxMs = 24.0 * 3600 * 1000;
constexpr int64_t kMaxWireInt = (int64_t{1} << 53) - 1;

// ---- options -------------------------------------------------------------------------------

MediumSpec MediumFromJs(const Napi::Env& env, const Napi::Value& v, size_t i) {
  const std::string where = "Engine options.media[" + std::to_string(i) + "]";
  Napi::Object o = ObjectArg(env, v, where);
  MediumSpec m;
  const std::string kind = StringProp(o, where, "kind");
  m.iface = StringProp(o, where, "iface");
  if (m.iface.size() >= IF_NAMESIZE || m.iface.find('/') != std::string::npos) {
    throw Napi::TypeError::New(env, where + ".iface \"" + m.iface + "\" is not a valid interface name (at most " + std::to_string(IF_NAMESIZE - 1) + " characters, no '/')");
  }
  if (kind == "bcast") {
    m.kind = MediumSpec::Kind::Bcast;
  } else if (kind == "mcast") {
    m.kind = MediumSpec::Kind::Mcast;
    m.group = StringProp(o, where, "group");
    in_addr a{};
    if (inet_pton(AF_INET, m.group.c_str(), &a) != 1 || !IN_MULTICAST(ntohl(a.s_addr))) {
      throw Napi::TypeError::New(env, where + ".group must be an IPv4 multicast address 224.0.0.0-239.255.255.255 (got \"" + m.group + "\")");
    }
    m.port = static_cast<uint16_t>(IntegerProp(o, where, "port", 1, 65535));
    m.ttl = static_cast<int>(IntegerProp(o, where, "ttl", 0, 255));
    m.loop = BoolProp(o, where, "loop");
  } else if (kind == "ucast") {
    m.kind = MediumSpec::Kind::Ucast;
    m.peer = StringProp(o, where, "peer");
  } else {
    throw Napi::TypeError::New(env, where + ".kind must be 'bcast', 'mcast' or 'ucast' (got " + Describe(o.Get("kind")) + ")");
  }
  return m;
}

// TransportOptions.pingNodes: absent or an array of { name, addresses, group }; names unique and
// none of them a normal node.
std::vector<PingNodeSpec> PingNodesFromJs(const Napi::Env& env, const Napi::Object& o, const LivenessConfig& live) {
  std::vector<PingNodeSpec> out;
  Napi::Value v = o.Get("pingNodes");
  if (v.IsUndefined()) return out;
  if (!v.IsArray()) throw Napi::TypeError::New(env, "Engine options.pingNodes must be an array of { name, addresses, group } (got " + Describe(v) + ")");
  Napi::Array a = v.As<Napi::Array>();
  for (uint32_t i = 0; i < a.Length(); i++) {
    const std::string where = "Engine options.pingNodes[" + std::to_string(i) + "]";
    Napi::Object p = ObjectArg(env, a.Get(i), where);
    PingNodeSpec n;
    n.name = StringProp(p, where, "name");
    n.addresses = StringArrayProp(p, where, "addresses");
    n.group = BoolProp(p, where, "group");
    if (n.addresses.empty() || (!n.group && n.addresses.size() != 1)) {
      throw Napi::TypeError::New(env, where + ".addresses must hold " + (n.group ? "at least one address" : "exactly one address (several are a group: group true)") + " (got " + std::to_string(n.addresses.size()) + ")");
    }
    bool clash = n.name == live.localNode;
    for (const std::string& node : live.nodes) clash = clash || node == n.name;
    for (const PingNodeSpec& earlier : out) clash = clash || earlier.name == n.name;
    if (clash) throw Napi::TypeError::New(env, where + ".name \"" + n.name + "\" is already a node or ping node: every node name must be unique");
    out.push_back(std::move(n));
  }
  return out;
}

EngineOptions OptionsFromJs(const Napi::Env& env, const Napi::Value& v) {
  const std::string where = "Engine options";
  Napi::Object o = ObjectArg(env, v, where);
  EngineOptions e;
  e.liveness = LivenessConfigFromJs(o, where);
  bool known = false;
  for (const std::string& n : e.liveness.nodes) known = known || n == e.liveness.localNode;
  if (!known) throw Napi::TypeError::New(env, where + ".localNode \"" + e.liveness.localNode + "\" must be one of nodes");
  e.pingNodes = PingNodesFromJs(env, o, e.liveness);
  for (const PingNodeSpec& n : e.pingNodes) e.liveness.pingNodes.push_back(n.name);
  Napi::Value media = o.Get("media");
  if (!media.IsArray() || media.As<Napi::Array>().Length() == 0) {
    throw Napi::TypeError::New(env, where + ".media must be a non-empty array of media (got " + Describe(media) + ")");
  }
  for (uint32_t i = 0; i < media.As<Napi::Array>().Length(); i++) e.media.push_back(MediumFromJs(env, media.As<Napi::Array>().Get(i), i));
  e.udpPort = static_cast<uint16_t>(IntegerProp(o, where, "udpPort", 1, 65535));
  e.stallLimitMs = NumberProp(o, where, "stallLimitMs", 1, kMaxMs);
  AuthKeysFromJs(env, o.Get("authKeys"), false, &e.authKeys);
  if (!e.authKeys.Find(e.authKeys.send_index)) {
    throw Napi::TypeError::New(env, where + ".authKeys.sendIndex " + std::to_string(e.authKeys.send_index) + " has no key in authKeys.keys");
  }
  e.wireFormat = WireFormatFromJs(env, o.Get("wireFormat"));
  Napi::Value uuid = o.Get("uuid");
  if (!uuid.IsBuffer() || uuid.As<Napi::Buffer<uint8_t>>().Length() != 16) {
    throw Napi::TypeError::New(env, where + ".uuid must be a Buffer of 16 bytes (got " + Describe(uuid) + ")");
  }
  const auto bytes = BufferProp(o, where, "uuid");
  e.uuid.assign(bytes.begin(), bytes.end());
  e.generation = IntegerProp(o, where, "generation", 0, kMaxWireInt);
  e.firstSeq = IntegerProp(o, where, "firstSeq", 1, kMaxWireInt);
  e.ttl = static_cast<int>(IntegerProp(o, where, "ttl", 0, 1000000));
  e.realtime = BoolProp(o, where, "realtime");
  Napi::Value prio = o.Get("rtprio");
  e.rtprio = prio.IsNull() || prio.IsUndefined() ? 0 : static_cast<int>(IntegerProp(o, where, "rtprio", 1, 99));
  if (!o.Get("maxRexmitDelayMs").IsUndefined()) e.maxRexmitDelayMs = static_cast<double>(IntegerProp(o, where, "maxRexmitDelayMs", 1, 3600000));
  Napi::Value wd = o.Get("watchdog");
  if (!wd.IsUndefined() && !wd.IsNull()) {
    const std::string w = where + ".watchdog";
    Napi::Object wo = ObjectArg(env, wd, w);
    e.watchdogSocket = StringProp(wo, w, "socket");
    e.watchdogIntervalMs = NumberProp(wo, w, "intervalMs", 2, kMaxMs);
  }
  return e;
}

// ---- events --------------------------------------------------------------------------------

void SetError(Napi::Object o, const SysError& e, const std::string& message) {
  o.Set("syscall", e.syscall);
  o.Set("errno", ErrnoName(e.err));
  o.Set("message", message);
}

struct EventToJs {
  Napi::Env env;
  Napi::Object o;

  void operator()(const LivenessEvent& e) { SetLivenessEventFields(o, e); }
  void operator()(const StatusEvent& e) {
    o.Set("type", "status");
    o.Set("node", e.node);
    o.Set("link", e.link);
    o.Set("message", MessageToJs(env, e.message));
    o.Set("seq", JsInt(env, e.seq));
    o.Set("generation", JsInt(env, e.generation));
  }
  void operator()(const StatusAdvanceEvent& e) {
    o.Set("type", "status-advance");
    o.Set("node", e.node);
    o.Set("generation", JsInt(env, e.generation));
    o.Set("fromSeq", JsInt(env, e.fromSeq));
    Napi::Array monos = Napi::Array::New(env, e.monos.size());
    for (uint32_t i = 0; i < e.monos.size(); i++) monos.Set(i, Napi::Number::New(env, e.monos[i]));
    o.Set("monos", monos);
  }
  void operator()(const MessageEvent& e) {
    o.Set("type", "message");
    o.Set("node", e.node);
    o.Set("link", e.link);
    o.Set("message", MessageToJs(env, e.message));
    o.Set("seq", e.seq ? Napi::Value(JsInt(env, *e.seq)) : env.Null());
    o.Set("generation", JsInt(env, e.generation));
    o.Set("forUs", Napi::Boolean::New(env, e.forUs));
  }
  void operator()(const AuthFailEvent& e) {
    o.Set("type", "auth-fail");
    o.Set("link", e.link);
    o.Set("source", e.source);
    o.Set("reason", e.reason);
    o.Set("node", e.node ? Napi::Value(Napi::String::New(env, *e.node)) : env.Null());
    o.Set("count", Napi::Number::New(env, static_cast<double>(e.count)));
  }
  void operator()(const StallStopEvent& e) {
    o.Set("type", "stall-stop");
    o.Set("silentMs", Napi::Number::New(env, e.silentMs));
  }
  void operator()(const MediaErrorEvent& e) {
    o.Set("type", "media-error");
    o.Set("link", e.link);
    SetError(o, e.error, e.message);
  }
  void operator()(const MediaReopenedEvent& e) {
    o.Set("type", "media-reopened");
    o.Set("link", e.link);
    o.Set("ifindex", Napi::Number::New(env, e.ifindex));
  }
  void operator()(const WarningEvent& e) {
    o.Set("type", "warning");
    SetError(o, e.error, hbd::Describe(e.error));
  }
  void operator()(const PlanExecutedEvent& e) {
    o.Set("type", "plan-executed");
    o.Set("node", e.node);
    o.Set("deadAtMono", Napi::Number::New(env, e.deadAtMono));
    Napi::Array results = Napi::Array::New(env, e.results.size());
    for (uint32_t i = 0; i < e.results.size(); i++) {
      const PlanVipResult& r = e.results[i];
      Napi::Object x = Napi::Object::New(env);
      x.Set("vip", VipToJs(env, r.vip));
      x.Set("ok", Napi::Boolean::New(env, r.ok));
      x.Set("changed", Napi::Boolean::New(env, r.changed));
      x.Set("label", r.label[0] ? Napi::Value(Napi::String::New(env, r.label)) : env.Null());
      x.Set("addedAtMono", Napi::Number::New(env, r.addedAt ? NanosToMs(r.addedAt) : 0));
      x.Set("firstAnnounceAtMono", r.firstAnnounceAt ? Napi::Value(Napi::Number::New(env, NanosToMs(r.firstAnnounceAt))) : env.Null());
      x.Set("errno", r.error ? Napi::Value(Napi::String::New(env, ErrnoName(r.error->err))) : env.Null());
      x.Set("syscall", r.error ? Napi::Value(Napi::String::New(env, r.error->syscall)) : env.Null());
      x.Set("message", r.error ? Napi::Value(Napi::String::New(env, hbd::Describe(*r.error))) : env.Null());
      results.Set(i, x);
    }
    o.Set("results", results);
  }
};

// Engine.setTakeoverPlan's plan: { vips: VipSpec[], announce: { count, intervalMs } }.
PlanSpec PlanFromJs(const Napi::Env& env, const Napi::Value& v) {
  const std::string where = "Engine.setTakeoverPlan: plan";
  Napi::Object o = ObjectArg(env, v, where);
  PlanSpec plan;
  Napi::Value vips = o.Get("vips");
  if (!vips.IsArray()) throw Napi::TypeError::New(env, where + ".vips must be an array of VipSpec (got " + Describe(vips) + ")");
  Napi::Array a = vips.As<Napi::Array>();
  for (uint32_t i = 0; i < a.Length(); i++) plan.vips.push_back(VipFromJs(env, a.Get(i), where + ".vips[" + std::to_string(i) + "]"));
  const std::string aw = where + ".announce";
  Napi::Object announce = ObjectArg(env, o.Get("announce"), aw);
  plan.count = static_cast<int>(IntegerProp(announce, aw, "count", 0, 1000));
  plan.intervalMs = NumberProp(announce, aw, "intervalMs", 0, 3600 * 1000);
  return plan;
}

Napi::Array EventsToJs(const Napi::Env& env, const std::vector<EngineEvent>& events) {
  Napi::Array a = Napi::Array::New(env, events.size());
  for (uint32_t i = 0; i < events.size(); i++) {
    Napi::Object o = Napi::Object::New(env);
    std::visit(EventToJs{env, o}, events[i].body);
    o.Set("mono", Napi::Number::New(env, events[i].mono));
    o.Set("wall", Napi::Number::New(env, events[i].wall));
    a.Set(i, o);
  }
  return a;
}

// Events wait here between the engine thread and JavaScript. At most one call is queued on the
// ThreadSafeFunction at a time; everything that arrives meanwhile joins the queue, so the engine
// never waits. Bounded both ways, so that a flood cannot stop the node: the queue holds at most
// kMaxPending events — beyond that per-packet events (status, message, auth-fail) are dropped and
// counted, while liveness and error events always get in — and JavaScript gets at most kChunk
// events per call, then yields (setImmediate) so that its timers, the engine check-in among them,
// run between chunks. Owned by the ThreadSafeFunction (freed by its finalizer).
constexpr size_t kMaxPending = 8192;
constexpr size_t kChunk = 256;

// A packet event: losing one is like losing the packet (membership asks for a retransmit). Not
// the newest status of a peer: the filter holds back the next ones while their content equals it.
bool Droppable(const EngineEvent& e) {
  if (const auto* s = std::get_if<StatusEvent>(&e.body)) return !s->newest;
  return std::holds_alternative<MessageEvent>(e.body) || std::holds_alternative<AuthFailEvent>(e.body);
}

struct EventPipe {
  PiMutex mu;
  std::vector<EngineEvent> pending;
  uint64_t dropped = 0;  // since the last report
  bool scheduled = false;
  Napi::ThreadSafeFunction tsfn;

  EventPipe() { pending.reserve(kMaxPending); }  // no reallocation on the engine thread below the bound

  void Push(std::vector<EngineEvent>&& events) {
    {
      std::lock_guard<PiMutex> lock(mu);
      for (EngineEvent& e : events) {
        if (pending.size() >= kMaxPending && Droppable(e)) {
          dropped++;
        } else {
          pending.push_back(std::move(e));
        }
      }
      if (scheduled) return;
      scheduled = true;
    }
    Schedule();
  }

  // napi_closing (environment going away) or queue errors: the events have nowhere to go.
  void Schedule() {
    tsfn.NonBlockingCall([this](Napi::Env env, Napi::Function onEvents) { Deliver(env, onEvents); });
  }

  // A stopped engine is silent: a call still queued then finds nothing to deliver.
  void Discard() {
    std::lock_guard<PiMutex> lock(mu);
    pending.clear();
    dropped = 0;
  }

  void Deliver(Napi::Env env, Napi::Function onEvents) {
    std::vector<EngineEvent> batch;
    bool more;
    {
      std::lock_guard<PiMutex> lock(mu);
      const size_t n = std::min(pending.size(), kChunk);
      if (dropped > 0) {
        const std::string what = std::to_string(dropped) + " status, message and auth-fail events dropped: JavaScript fell more than " + std::to_string(kMaxPending) + " events behind the engine";
        batch.push_back(EngineEvent{MonoNowMs(), NanosToMs(WallNanos()), WarningEvent{SysError{"event queue", ENOBUFS, what}}});
        dropped = 0;
      }
      batch.insert(batch.end(), std::make_move_iterator(pending.begin()), std::make_move_iterator(pending.begin() + n));
      pending.erase(pending.begin(), pending.begin() + n);
      more = !pending.empty();
      scheduled = more;
    }
    if (env == nullptr || onEvents.IsEmpty()) return;
    if (more) Yield(env);
    if (batch.empty()) return;
    try {
      onEvents.Call({EventsToJs(env, batch)});
    } catch (const Napi::Error& e) {
      // lib/transport/native.ts reports its handler's errors itself; what arrives here is the
      // environment going away (a terminated Worker: no exception object) or a bug in that
      // relay, which Node's uncaught-exception handling reports. Never out of this callback:
      // that would be std::terminate.
      Napi::Value v = e.Value();
      if (!v.IsEmpty() && v.IsObject()) napi_fatal_exception(env, v);
    }
  }

  // The next chunk comes from setImmediate: after this loop iteration's timers and I/O.
  void Yield(Napi::Env env) {
    if (tsfn.Acquire() != napi_ok) return;  // closing: nothing more is delivered anyway
    Napi::Value setImmediate = env.Global().Get("setImmediate");
    if (!setImmediate.IsFunction()) {
      Schedule();
      tsfn.Release();
      return;
    }
    auto next = Napi::Function::New(env, [this](const Napi::CallbackInfo&) {
      Schedule();
      tsfn.Release();  // after Schedule: the queued call keeps the pipe alive until it ran
    });
    try {
      setImmediate.As<Napi::Function>().Call({next});
    } catch (const Napi::Error&) {
      tsfn.Release();  // terminating: JavaScript runs no more
    }
  }
};

// ---- the class -----------------------------------------------------------------------------

class EngineWrap : public Napi::ObjectWrap<EngineWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "Engine",
                       {
                           InstanceMethod<&EngineWrap::Start>("start"),
                           InstanceMethod<&EngineWrap::Stop>("stop"),
                           InstanceMethod<&EngineWrap::SetStatus>("setStatus"),
                           InstanceMethod<&EngineWrap::SetDeadtimeBump>("setDeadtimeBump"),
                           InstanceMethod<&EngineWrap::SetCommUp>("setCommUp"),
                           InstanceMethod<&EngineWrap::SetFlowControl>("setFlowControl"),
                           InstanceMethod<&EngineWrap::Send>("send"),
                           InstanceMethod<&EngineWrap::Retransmit>("retransmit"),
                           InstanceMethod<&EngineWrap::CheckIn>("checkIn"),
                           InstanceMethod<&EngineWrap::SetTakeoverPlan>("setTakeoverPlan"),
                           InstanceMethod<&EngineWrap::MarkDead>("markDead"),
                           InstanceMethod<&EngineWrap::HighestSeq>("highestSeq"),
                           InstanceMethod<&EngineWrap::SetAuthKeys>("setAuthKeys"),
                       });
  }

  // new Engine(options: TransportOptions, onEvents: (events: object[]) => void)
  explicit EngineWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<EngineWrap>(info) {
    Napi::Env env = info.Env();
    EngineOptions options = OptionsFromJs(env, info[0]);
    for (const std::string& n : options.liveness.nodes) {
      if (n != options.liveness.localNode) peers_.insert(n);
    }
    if (!info[1].IsFunction()) throw Napi::TypeError::New(env, "Engine: onEvents must be a function (got " + Describe(info[1]) + ")");
    onEvents_ = Napi::Persistent(info[1].As<Napi::Function>());
    // The engine thread runs only between start() and Shutdown(), when pipe_ is set.
    engine_ = std::make_unique<Engine>(std::move(options), [this](std::vector<EngineEvent>&& events) { pipe_->Push(std::move(events)); });
  }

  ~EngineWrap() override { Shutdown(); }

 private:
  enum class Phase { Created, Running, Stopped };

  void Start(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (phase_ != Phase::Created) throw Napi::Error::New(env, "Engine.start: an engine starts once (create a new one)");
    auto* pipe = new EventPipe();
    pipe->tsfn = Napi::ThreadSafeFunction::New(env, onEvents_.Value(), "hbd engine events", 0, 1, pipe, [](Napi::Env, EventPipe* p) { delete p; });
    pipe->tsfn.Unref(env);  // a running engine alone does not keep the process alive
    pipe_ = pipe;
    if (auto err = engine_->Start()) {
      Shutdown();
      Napi::Error e = Napi::Error::New(env, hbd::Describe(err->error));
      e.Set("syscall", err->error.syscall);
      e.Set("code", ErrnoName(err->error.err));
      e.Set("errno", Napi::Number::New(env, -err->error.err));
      if (!err->medium.empty()) e.Set("medium", err->medium);
      throw e;
    }
    env_ = env;
    if (napi_add_env_cleanup_hook(env, &EngineWrap::OnEnvTeardown, this) == napi_ok) hooked_ = true;
    phase_ = Phase::Running;
  }

  // Synchronous: the thread wakes at once and never waits for JavaScript, so the join is short.
  void Stop(const Napi::CallbackInfo&) { Shutdown(); }

  // The process is exiting with the engine running: stop the thread before Node tears down the
  // ThreadSafeFunction (cleanup hooks run last-registered first, so this one runs before it).
  static void OnEnvTeardown(void* arg) {
    auto* self = static_cast<EngineWrap*>(arg);
    self->hooked_ = false;
    self->Shutdown();
  }

  // Stops the thread before the ThreadSafeFunction goes: the thread is its only caller.
  void Shutdown() {
    if (hooked_) {
      napi_remove_env_cleanup_hook(env_, &EngineWrap::OnEnvTeardown, this);
      hooked_ = false;
    }
    engine_->Stop();
    if (pipe_) {
      pipe_->Discard();
      pipe_->tsfn.Release();
      pipe_ = nullptr;
    }
    phase_ = Phase::Stopped;
  }

  // The settings may come before start() (they shape the first status) and are ignored after stop().
  void SetStatus(const Napi::CallbackInfo& info) {
    const std::string st = info[0].IsString() ? info[0].As<Napi::String>().Utf8Value() : "";
    if (st != "up" && st != "active") throw Napi::TypeError::New(info.Env(), "Engine.setStatus: status must be 'up' or 'active' (got " + Describe(info[0]) + ")");
    engine_->SetStatus(st);
  }

  void SetDeadtimeBump(const Napi::CallbackInfo& info) {
    const double ms = info[0].IsNumber() ? info[0].As<Napi::Number>().DoubleValue() : -1;
    if (!(ms >= 0 && ms <= kMaxMs)) throw Napi::TypeError::New(info.Env(), "Engine.setDeadtimeBump: extraMs must be a number from 0 to 86400000 (got " + Describe(info[0]) + ")");
    engine_->SetDeadtimeBump(ms);
  }

  void SetCommUp(const Napi::CallbackInfo&) { engine_->SetCommUp(); }

  void SetFlowControl(const Napi::CallbackInfo& info) {
    if (!info[0].IsBoolean()) throw Napi::TypeError::New(info.Env(), "Engine.setFlowControl: on must be true or false (got " + Describe(info[0]) + ")");
    engine_->SetFlowControl(info[0].As<Napi::Boolean>().Value());
  }

  Napi::Value Send(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (phase_ != Phase::Running) throw Napi::Error::New(env, std::string("Engine.send: the engine is not running (") + (phase_ == Phase::Created ? "call start() first)" : "it was stopped)"));
    return Guarded(env, "Engine.send", [&]() -> Napi::Value {
      Message m = MessageFromJs(env, info[0]);
      if (!StringField(m, "t")) throw Napi::RangeError::New(env, "Engine.send: a cluster message needs a t field");
      auto r = engine_->Send(std::move(m));
      if (auto* err = std::get_if<EncodeError>(&r)) throw EncodeErrorToJs(env, *err);
      const auto& seq = std::get<std::optional<int64_t>>(r);
      return seq ? Napi::Value(JsInt(env, *seq)) : env.Null();
    });
  }

  // Answers from the history at any time; only a running engine puts the bytes on the wire.
  Napi::Value Retransmit(const Napi::CallbackInfo& info) {
    const double seq = info[0].IsNumber() ? info[0].As<Napi::Number>().DoubleValue() : -1;
    if (!(seq >= 0 && seq <= static_cast<double>(kMaxWireInt)) || seq != static_cast<double>(static_cast<int64_t>(seq))) {
      throw Napi::TypeError::New(info.Env(), "Engine.retransmit: seq must be a non-negative integer (got " + Describe(info[0]) + ")");
    }
    return Napi::String::New(info.Env(), RetransmitResultName(engine_->Retransmit(static_cast<int64_t>(seq))));
  }

  // Harmless before start and after stop: the interval that calls it may outlive the engine.
  void CheckIn(const Napi::CallbackInfo&) { engine_->CheckIn(); }

  // setTakeoverPlan(node, plan | null): node must be a peer (not us, not a ping node). May come
  // before start(); throws the socket error (EPERM without CAP_NET_RAW) now rather than at a death.
  void SetTakeoverPlan(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const std::string node = info[0].IsString() ? info[0].As<Napi::String>().Utf8Value() : "";
    if (peers_.count(node) == 0) throw Napi::TypeError::New(env, "Engine.setTakeoverPlan: node must be one of the other nodes (got " + Describe(info[0]) + ")");
    std::optional<PlanSpec> plan;
    if (!info[1].IsNull()) plan = PlanFromJs(env, info[1]);
    if (auto e = engine_->SetTakeoverPlan(node, std::move(plan))) throw SysErrorToJs(env, *e);
  }

  void MarkDead(const Napi::CallbackInfo& info) {
    if (!info[0].IsString()) throw Napi::TypeError::New(info.Env(), "Engine.markDead: node must be a string (got " + Describe(info[0]) + ")");
    engine_->MarkDead(info[0].As<Napi::String>().Utf8Value());
  }

  Napi::Value HighestSeq(const Napi::CallbackInfo& info) { return JsInt(info.Env(), engine_->HighestSeq()); }

  // setAuthKeys(keys): a reloaded authkeys, live (key rotation). Checked as the constructor checks it.
  void SetAuthKeys(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Guarded(env, "Engine.setAuthKeys", [&] {
      AuthKeys keys;
      AuthKeysFromJs(env, info[0], false, &keys);
      if (!keys.Find(keys.send_index)) throw Napi::TypeError::New(env, "Engine.setAuthKeys: sendIndex " + std::to_string(keys.send_index) + " has no key in keys");
      engine_->SetAuthKeys(std::move(keys));
    });
  }

  Napi::FunctionReference onEvents_;
  std::set<std::string> peers_;  // the normal nodes other than us: who can have a takeover plan
  std::unique_ptr<Engine> engine_;
  EventPipe* pipe_ = nullptr;  // owned by its ThreadSafeFunction
  napi_env env_ = nullptr;
  bool hooked_ = false;  // OnEnvTeardown is registered
  Phase phase_ = Phase::Created;
};

Napi::Value MonoNow(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), MonoNowMs()); }

// sdNotify(text): sends `text` ("READY=1", "STOPPING=1") to $NOTIFY_SOCKET; false when it is not
// set (not started by systemd as Type=notify); an Error with .syscall and .code when sending fails.
Napi::Value SdNotifyJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsString()) throw Napi::TypeError::New(env, "sdNotify: text must be a string such as \"READY=1\" (got " + Describe(info[0]) + ")");
  const char* address = std::getenv("NOTIFY_SOCKET");
  if (!address || !*address) return Napi::Boolean::New(env, false);
  NotifySocket sock;
  std::optional<SysError> err = sock.Open(address);
  if (!err) err = sock.Send(info[0].As<Napi::String>().Utf8Value());
  if (err) {
    Napi::Error e = Napi::Error::New(env, "sdNotify: " + hbd::Describe(*err));
    e.Set("syscall", err->syscall);
    e.Set("code", ErrnoName(err->err));
    throw e;
  }
  return Napi::Boolean::New(env, true);
}

}  // namespace

void InitEngine(Napi::Env env, Napi::Object exports) {
  exports.Set("Engine", EngineWrap::Define(env));
  exports.Set("monoNow", Napi::Function::New(env, MonoNow, "monoNow"));
  exports.Set("sdNotify", Napi::Function::New(env, SdNotifyJs, "sdNotify"));
}

}  // namespace hbd
