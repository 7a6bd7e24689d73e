#include "plan.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

namespace hbd {

namespace {

constexpr Nanos kNone = std::numeric_limits<Nanos>::max();

Nanos MsToNs(double ms) { return static_cast<Nanos>(std::llround(ms * 1e6)); }

}  // namespace

std::optional<SysError> TakeoverPlans::Set(const std::string& node, std::optional<PlanSpec> spec) {
  std::unique_ptr<Plan> plan;
  if (spec) {
    {
      // Opened once and never replaced, so the engine thread may use them without the lock.
      std::lock_guard<PiMutex> lock(mu_);
      if (!rtnl_.open()) {
        if (auto e = rtnl_.Open()) return e;
      }
      if (!packet_.valid()) {
        if (auto e = OpenPacketSocket(&packet_)) return e;
      }
    }
    plan = std::make_unique<Plan>();
    plan->node = node;
    plan->spec = std::move(*spec);
    plan->jobs.resize(plan->spec.vips.size());
    plan->results.resize(plan->spec.vips.size());
    for (size_t i = 0; i < plan->spec.vips.size(); i++) {
      const Vip& vip = plan->spec.vips[i];
      AnnounceJob& job = plan->jobs[i];
      job.address = vip.address;
      std::memcpy(job.iface, vip.iface, sizeof job.iface);
      SysError later;  // an interface that is not there yet is resolved when the plan fires
      job.Prepare(packet_.get(), &later);
      plan->results[i].vip = vip;
    }
  }
  std::lock_guard<PiMutex> lock(mu_);
  pending_.erase(std::remove_if(pending_.begin(), pending_.end(), [&](const std::unique_ptr<Plan>& p) { return p->node == node; }), pending_.end());
  if (plan) pending_.push_back(std::move(plan));
  // Execute moves a plan into running_ without allocating on the engine thread.
  running_.reserve(running_.size() + pending_.size());
  return std::nullopt;
}

std::optional<PlanReport> TakeoverPlans::Execute(const std::string& node, Nanos deadAt) {
  std::unique_ptr<Plan> plan;
  {
    std::lock_guard<PiMutex> lock(mu_);
    auto it = std::find_if(pending_.begin(), pending_.end(), [&](const std::unique_ptr<Plan>& p) { return p->node == node; });
    if (it == pending_.end()) return std::nullopt;
    plan = std::move(*it);
    pending_.erase(it);
  }
  const Nanos interval = MsToNs(plan->spec.intervalMs);
  for (size_t i = 0; i < plan->spec.vips.size(); i++) {
    PlanVipResult& r = plan->results[i];
    AnnounceJob& job = plan->jobs[i];
    SysError err;
    AddDone added;
    if (!rtnl_.Add(plan->spec.vips[i], &added, &err)) {
      r.error = std::move(err);
      continue;
    }
    r.changed = added.changed;
    std::memcpy(r.label, added.label, sizeof r.label);
    r.addedAt = added.at;
    if (plan->spec.count == 0) {  // announcing is off for this plan
      r.ok = true;
      continue;
    }
    // Each address is announced as soon as it is there: the first frame of the first address must
    // not wait for the later addresses' netlink round trips.
    job.rounds = plan->spec.count;
    job.interval = interval;
    job.next = MonoNanos();
    if (!job.Prepare(packet_.get(), &err)) {
      job.rounds = 0;
      r.error = std::move(err);
      continue;
    }
    if (!job.SendRound(packet_.get(), job.next, &err)) {
      job.failedOnce = true;  // the remaining rounds still try (a link coming up), unreported
      r.error = std::move(err);
      continue;
    }
    r.firstAnnounceAt = job.firstAt;
    r.ok = true;
  }
  PlanReport report{node, NanosToMs(deadAt), std::move(plan->results)};
  if (std::any_of(plan->jobs.begin(), plan->jobs.end(), [](const AnnounceJob& j) { return !j.done(); })) {
    std::lock_guard<PiMutex> lock(mu_);
    running_.push_back(std::move(plan));
  }
  return report;
}

Nanos TakeoverPlans::NextDeadline() {
  std::lock_guard<PiMutex> lock(mu_);
  Nanos next = kNone;
  for (const auto& p : running_) {
    for (const AnnounceJob& j : p->jobs) {
      if (!j.done()) next = std::min(next, j.next);
    }
  }
  return next;
}

void TakeoverPlans::Fire(Nanos now, std::vector<SysError>* failures) {
  std::lock_guard<PiMutex> lock(mu_);
  if (running_.empty()) return;
  for (auto& p : running_) {
    for (AnnounceJob& j : p->jobs) {
      if (j.done() || j.next > now) continue;
      SysError err;
      if (j.SendRound(packet_.get(), now, &err) || j.failedOnce) continue;
      j.failedOnce = true;
      failures->push_back(std::move(err));
    }
  }
  running_.erase(std::remove_if(running_.begin(), running_.end(),
                                [](const std::unique_ptr<Plan>& p) { return std::all_of(p->jobs.begin(), p->jobs.end(), [](const AnnounceJob& j) { return j.done(); }); }),
                 running_.end());
}

}  // namespace hbd
