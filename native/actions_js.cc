#include "actions_js.h"

#include <arpa/inet.h>

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

#include "announce.h"
#include "js_values.h"

namespace hbd {

namespace {

constexpr double kMaxIntervalMs = 3600 * 1000;

// ---- values ------------------------------------------------------------------------------------

void CopyName(char (&dst)[IF_NAMESIZE], const std::string& s) {
  std::memcpy(dst, s.data(), s.size());
  dst[s.size()] = '\0';
}

std::string MaybeString(const Napi::Object& o, const std::string& where, const char* name) {
  Napi::Value v = o.Get(name);
  if (v.IsNull()) return {};
  return StringProp(o, where, name);
}

// ---- the process-wide sockets of the standalone actions ----------------------------------------

// One netlink socket for every synchronous call (all on the JS thread; the mutex covers worker threads).
std::mutex rtnlMu;
Rtnl& SharedRtnl(const Napi::Env& env) {
  static Rtnl rtnl;
  if (!rtnl.open()) {
    if (auto e = rtnl.Open()) throw SysErrorToJs(env, *e);
  }
  return rtnl;
}

std::mutex packetMu;
int SharedPacketSocket(const Napi::Env& env) {
  static Fd fd;
  std::lock_guard<std::mutex> lock(packetMu);
  if (!fd.valid()) {
    if (auto e = OpenPacketSocket(&fd)) throw SysErrorToJs(env, *e);
  }
  return fd.get();
}

// addressAdd(vip) -> { changed, label, atMono }
Napi::Value AddressAdd(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const Vip vip = VipFromJs(env, info[0], "addressAdd: vip");
  std::lock_guard<std::mutex> lock(rtnlMu);
  AddDone done;
  SysError err;
  if (!SharedRtnl(env).Add(vip, &done, &err)) throw SysErrorToJs(env, err);
  Napi::Object o = Napi::Object::New(env);
  o.Set("changed", Napi::Boolean::New(env, done.changed));
  o.Set("label", done.label[0] ? Napi::Value(Napi::String::New(env, done.label)) : env.Null());
  o.Set("atMono", Napi::Number::New(env, NanosToMs(done.at)));
  return o;
}

// addressRemove(vip) -> { changed, atMono }
Napi::Value AddressRemove(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const Vip vip = VipFromJs(env, info[0], "addressRemove: vip");
  std::lock_guard<std::mutex> lock(rtnlMu);
  RemoveDone done;
  SysError err;
  if (!SharedRtnl(env).Remove(vip, &done, &err)) throw SysErrorToJs(env, err);
  Napi::Object o = Napi::Object::New(env);
  o.Set("changed", Napi::Boolean::New(env, done.changed));
  o.Set("atMono", Napi::Number::New(env, NanosToMs(done.at)));
  return o;
}

// addressList(iface: string | null) -> AddressEntry[] (IPv4 and IPv6)
Napi::Value AddressList(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int ifindex = 0;
  if (!info[0].IsNull() && !info[0].IsUndefined()) {
    if (!info[0].IsString()) throw Napi::TypeError::New(env, "addressList: iface must be an interface name or null (got " + Describe(info[0]) + ")");
    const std::string iface = info[0].As<Napi::String>().Utf8Value();
    ifindex = static_cast<int>(if_nametoindex(iface.c_str()));
    const int e = errno;  // saved before the message is built
    if (ifindex == 0) throw SysErrorToJs(env, SysError{"if_nametoindex", e, "address list: interface " + iface});
  }
  std::vector<AddrEntry> entries;
  SysError err;
  {
    std::lock_guard<std::mutex> lock(rtnlMu);
    if (!SharedRtnl(env).List(AF_UNSPEC, ifindex, &entries, &err)) throw SysErrorToJs(env, err);
  }
  Napi::Array a = Napi::Array::New(env, entries.size());
  for (uint32_t i = 0; i < entries.size(); i++) {
    const AddrEntry& e = entries[i];
    Napi::Object o = Napi::Object::New(env);
    o.Set("family", Napi::Number::New(env, e.address.family == AF_INET6 ? 6 : 4));
    o.Set("iface", e.iface);
    o.Set("ifindex", Napi::Number::New(env, e.ifindex));
    o.Set("address", IpText(e.address));
    o.Set("prefix", Napi::Number::New(env, e.prefix));
    o.Set("broadcast", e.broadcast ? Napi::Value(Napi::String::New(env, IpText(*e.broadcast))) : env.Null());
    o.Set("label", e.label.empty() ? env.Null() : Napi::Value(Napi::String::New(env, e.label)));
    a.Set(i, o);
  }
  return a;
}

// ---- announce bursts on native threads ---------------------------------------------------------

// What a burst's thread tells JavaScript.
struct AnnounceNote {
  enum class Kind { First, BurstDone, Error, Ended } kind;
  Nanos at = 0;
  int frames = 0;
  Nanos firstAt = 0;
  SysError error;
};

// One burst (and its refresh): a thread that sleeps until each round, cancellable at any time.
struct Burst {
  AnnounceJob job;
  int sock = -1;
  std::mutex mu;
  std::condition_variable cv;
  bool cancelled = false;
  Napi::ThreadSafeFunction tsfn;

  void Tell(AnnounceNote note) {
    auto* n = new AnnounceNote(std::move(note));
    if (tsfn.NonBlockingCall(n, [](Napi::Env env, Napi::Function cb, AnnounceNote* n) {
          std::unique_ptr<AnnounceNote> own(n);
          if (env == nullptr || cb.IsEmpty()) return;
          Napi::Object o = Napi::Object::New(env);
          switch (n->kind) {
            case AnnounceNote::Kind::First:
              o.Set("type", "first");
              o.Set("atMono", NanosToMs(n->at));
              break;
            case AnnounceNote::Kind::BurstDone:
              o.Set("type", "burst-done");
              o.Set("firstAtMono", n->firstAt ? Napi::Value(Napi::Number::New(env, NanosToMs(n->firstAt))) : env.Null());
              o.Set("frames", n->frames);
              break;
            case AnnounceNote::Kind::Error:
              o.Set("type", "error");
              o.Set("error", SysErrorToJs(env, n->error).Value());
              o.Set("frames", n->frames);
              break;
            case AnnounceNote::Kind::Ended:
              o.Set("type", "ended");
              o.Set("frames", n->frames);
              break;
          }
          cb.Call({o});
        }) != napi_ok) {
      delete n;  // the environment is going away: nobody is listening
    }
  }

  void Run() {
    bool burstReported = false;
    int lastErr = 0;
    for (;;) {
      {
        std::unique_lock<std::mutex> lock(mu);
        const auto due = std::chrono::steady_clock::time_point(std::chrono::nanoseconds(job.next));
        cv.wait_until(lock, due, [this] { return cancelled; });
        if (cancelled) break;
      }
      const Nanos now = MonoNanos();
      if (now < job.next) continue;  // a spurious wake-up
      const bool hadFirst = job.firstAt != 0;
      SysError err;
      const bool ok = job.SendRound(sock, now, &err);
      if (!hadFirst && job.firstAt != 0) Tell({AnnounceNote::Kind::First, job.firstAt, job.framesSent, job.firstAt, {}});
      // A failure is told when it starts or changes, not once per round (a refresh on a dead link).
      if (ok) {
        lastErr = 0;
      } else if (err.err != lastErr) {
        lastErr = err.err;
        Tell({AnnounceNote::Kind::Error, now, job.framesSent, job.firstAt, std::move(err)});
      }
      if (job.rounds <= 0 && !burstReported) {
        burstReported = true;
        Tell({AnnounceNote::Kind::BurstDone, MonoNanos(), job.framesSent, job.firstAt, {}});
      }
      if (job.done()) break;
    }
    Tell({AnnounceNote::Kind::Ended, MonoNanos(), job.framesSent, job.firstAt, {}});
    tsfn.Release();
  }
};

// Never destroyed: a detached burst thread may still finish while the process exits.
std::mutex& burstsMu = *new std::mutex;
std::map<uint32_t, std::shared_ptr<Burst>>& bursts = *new std::map<uint32_t, std::shared_ptr<Burst>>;
uint32_t nextBurstId = 0;

// announceStart(vip, { count, intervalMs, refreshMs }, onEvent) -> id. The first round leaves at
// once from the burst's thread; onEvent gets { type: 'first' | 'burst-done' | 'error' | 'ended' }.
Napi::Value AnnounceStart(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const Vip vip = VipFromJs(env, info[0], "announceStart: vip");
  const std::string where = "announceStart: options";
  Napi::Object opts = ObjectArg(env, info[1], where);
  const int count = static_cast<int>(IntegerProp(opts, where, "count", 1, 1000));
  const double intervalMs = NumberProp(opts, where, "intervalMs", 0, kMaxIntervalMs);
  const double refreshMs = opts.Get("refreshMs").IsUndefined() ? 0 : NumberProp(opts, where, "refreshMs", 0, kMaxIntervalMs);
  if (refreshMs > 0 && refreshMs < 10) throw Napi::TypeError::New(env, where + ".refreshMs must be 0 (off) or at least 10 (got " + Describe(opts.Get("refreshMs")) + ")");
  if (!info[2].IsFunction()) throw Napi::TypeError::New(env, "announceStart: onEvent must be a function (got " + Describe(info[2]) + ")");
  auto burst = std::make_shared<Burst>();
  burst->sock = SharedPacketSocket(env);
  burst->job.address = vip.address;
  std::memcpy(burst->job.iface, vip.iface, sizeof burst->job.iface);
  burst->job.rounds = count;
  burst->job.interval = static_cast<Nanos>(intervalMs * 1e6);
  burst->job.refresh = static_cast<Nanos>(refreshMs * 1e6);
  SysError err;
  // An unknown interface or a non-Ethernet one is an error at once, not from the thread.
  if (!burst->job.Prepare(burst->sock, &err)) throw SysErrorToJs(env, err);
  burst->job.next = MonoNanos();
  burst->tsfn = Napi::ThreadSafeFunction::New(env, info[2].As<Napi::Function>(), "hbd announce", 0, 1);
  uint32_t id;
  {
    std::lock_guard<std::mutex> lock(burstsMu);
    id = ++nextBurstId;
    bursts[id] = burst;
  }
  try {
    std::thread([burst, id] {
      burst->Run();
      std::lock_guard<std::mutex> lock(burstsMu);
      bursts.erase(id);
    }).detach();
  } catch (const std::system_error& e) {
    {
      std::lock_guard<std::mutex> lock(burstsMu);
      bursts.erase(id);
    }
    burst->tsfn.Release();
    throw SysErrorToJs(env, SysError{"pthread_create", e.code().value(), burst->job.Describe() + ": burst thread"});
  }
  return Napi::Number::New(env, id);
}

// announceCancel(id) -> boolean: false when that burst has already ended.
Napi::Value AnnounceCancel(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsNumber()) throw Napi::TypeError::New(env, "announceCancel: id must be a number (got " + Describe(info[0]) + ")");
  std::shared_ptr<Burst> burst;
  {
    std::lock_guard<std::mutex> lock(burstsMu);
    auto it = bursts.find(info[0].As<Napi::Number>().Uint32Value());
    if (it == bursts.end()) return Napi::Boolean::New(env, false);
    burst = it->second;
  }
  {
    std::lock_guard<std::mutex> lock(burst->mu);
    burst->cancelled = true;
  }
  burst->cv.notify_all();
  return Napi::Boolean::New(env, true);
}

}  // namespace

Vip VipFromJs(const Napi::Env& env, const Napi::Value& v, const std::string& where) {
  Napi::Object o = ObjectArg(env, v, where);
  Vip vip;
  const int64_t family = IntegerProp(o, where, "family", 4, 6);
  if (family != 4 && family != 6) throw Napi::TypeError::New(env, where + ".family must be 4 or 6 (got " + Describe(o.Get("family")) + ")");
  const int af = family == 4 ? AF_INET : AF_INET6;
  const std::string iface = StringProp(o, where, "iface");
  if (iface.size() >= IF_NAMESIZE || iface.find_first_of("/: ") != std::string::npos) {
    throw Napi::TypeError::New(env, where + ".iface \"" + iface + "\" is not an interface name (at most 15 characters, no '/', ':' or space; an alias label goes in .label)");
  }
  CopyName(vip.iface, iface);
  const std::string address = StringProp(o, where, "address");
  if (!ParseIp(af, address, &vip.address)) throw Napi::TypeError::New(env, where + ".address \"" + address + "\" is not an IPv" + std::to_string(family) + " address");
  vip.prefix = static_cast<int>(IntegerProp(o, where, "prefix", 0, family == 4 ? 32 : 128));
  const std::string broadcast = MaybeString(o, where, "broadcast");
  if (!broadcast.empty()) {
    if (family == 6) throw Napi::TypeError::New(env, where + ".broadcast must be null for IPv6 (got \"" + broadcast + "\")");
    if (!ParseIp(AF_INET, broadcast, &vip.broadcast)) throw Napi::TypeError::New(env, where + ".broadcast \"" + broadcast + "\" is not an IPv4 address");
    vip.hasBroadcast = true;
  }
  const std::string label = MaybeString(o, where, "label");
  if (!label.empty()) {
    if (family == 6) throw Napi::TypeError::New(env, where + ".label must be null for IPv6 (got \"" + label + "\")");
    // label == iface: no alias label (IPaddr2 without NIC:LABEL); the kernel's default label is the
    // interface name, so it is given as is.
    const bool alias = label.size() < IF_NAMESIZE && label.compare(0, iface.size() + 1, iface + ":") == 0 && label.size() > iface.size() + 1;
    if (label != iface && !alias) {
      throw Napi::TypeError::New(env, where + ".label \"" + label + "\" must be " + iface + " (no alias) or " + iface + ":<something>, at most 15 characters");
    }
    CopyName(vip.label, label);
  }
  return vip;
}

Napi::Object VipToJs(const Napi::Env& env, const Vip& vip) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("family", Napi::Number::New(env, vip.address.family == AF_INET6 ? 6 : 4));
  o.Set("iface", vip.iface);
  o.Set("address", IpText(vip.address));
  o.Set("prefix", Napi::Number::New(env, vip.prefix));
  o.Set("broadcast", vip.hasBroadcast ? Napi::Value(Napi::String::New(env, IpText(vip.broadcast))) : env.Null());
  o.Set("label", vip.label[0] ? Napi::Value(Napi::String::New(env, vip.label)) : env.Null());
  return o;
}

Napi::Error SysErrorToJs(const Napi::Env& env, const SysError& e) {
  Napi::Error err = Napi::Error::New(env, hbd::Describe(e));
  err.Set("code", ErrnoName(e.err));
  err.Set("syscall", e.syscall);
  err.Set("errno", Napi::Number::New(env, -e.err));
  return err;
}

void InitActions(Napi::Env env, Napi::Object exports) {
  exports.Set("addressAdd", Napi::Function::New(env, AddressAdd, "addressAdd"));
  exports.Set("addressRemove", Napi::Function::New(env, AddressRemove, "addressRemove"));
  exports.Set("addressList", Napi::Function::New(env, AddressList, "addressList"));
  exports.Set("announceStart", Napi::Function::New(env, AnnounceStart, "announceStart"));
  exports.Set("announceCancel", Napi::Function::New(env, AnnounceCancel, "announceCancel"));
}

}  // namespace hbd
