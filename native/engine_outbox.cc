#include "engine_outbox.h"

#include <ctime>
#include <exception>
#include <utility>

namespace hbd {

const char* RetransmitResultName(RetransmitResult r) {
  switch (r) {
    case RetransmitResult::Sent: return "sent";
    case RetransmitResult::Throttled: return "throttled";
    case RetransmitResult::TooLow: return "too-low";
    case RetransmitResult::TooHigh: return "too-high";
    case RetransmitResult::NotFound: return "not-found";
  }
  return "?";
}

void SendHistory::Add(int64_t seq, const std::string& bytes) {
  Slot& s = ring_[next_];
  if (s.seq >= 0) lowSeq_ = s.seq;
  s.seq = seq;
  s.bytes = bytes;
  s.lastRexmit.reset();
  next_ = (next_ + 1) % ring_.size();
  highSeq_ = seq;
}

RetransmitResult SendHistory::Take(int64_t seq, Nanos now, std::string* bytes) {
  if (seq <= lowSeq_) return RetransmitResult::TooLow;
  if (seq > highSeq_) return RetransmitResult::TooHigh;
  // Seqs are added in order without gaps, so the slot of `seq` is a fixed distance behind next_.
  const size_t back = static_cast<size_t>(highSeq_ - seq) + 1;
  Slot& s = ring_[(next_ + ring_.size() - back % ring_.size()) % ring_.size()];
  if (s.seq == seq) {
    if (s.lastRexmit && now - *s.lastRexmit < minGap_) return RetransmitResult::Throttled;
    s.lastRexmit = now;
    *bytes = s.bytes;
    return RetransmitResult::Sent;
  }
  return RetransmitResult::NotFound;
}

int64_t Outbox::HighestSeq() {
  std::lock_guard<PiMutex> lock(mu_);
  return nextSeq_ - 1;
}

Outbox::Outbox(OutboxConfig cfg) : cfg_(std::move(cfg)), keys_(cfg_.keys), nextSeq_(cfg_.firstSeq), history_(cfg_.firstSeq, cfg_.retransmitGap) {
  uuids_[cfg_.identity.node] = cfg_.identity.uuid;
  loadavg_ = loadReader_.Get(MonoNanos());
}

std::variant<std::optional<int64_t>, EncodeError> Outbox::Send(Message m, int64_t* ts) {
  std::lock_guard<PiMutex> lock(mu_);
  const bool sequenced = !IsUnsequenced(m);
  ControlStamp stamp;
  stamp.seq = nextSeq_;
  stamp.unixSeconds = static_cast<int64_t>(std::time(nullptr));
  if (ts) *ts = stamp.unixSeconds;
  if (sequenced) stamp.loadavg = loadavg_;
  AddControlFields(m, cfg_.identity, stamp, uuids_);
  std::variant<std::string, EncodeError> encoded;
  try {
    encoded = Encode(m, cfg_.format, keys_);
  } catch (const std::exception& e) {
    // OpenSSL failing inside HMAC, or memory: an error for this message, never a dead thread.
    return EncodeError{"", std::string("signing failed: ") + e.what()};
  }
  if (auto* err = std::get_if<EncodeError>(&encoded)) return *err;
  std::string& bytes = std::get<std::string>(encoded);
  if (bytes.size() > kMaxDatagram) {
    return EncodeError{"", "the signed packet is " + std::to_string(bytes.size()) + " bytes, more than the " + std::to_string(kMaxDatagram) + " a UDP datagram can carry"};
  }
  std::optional<int64_t> seq;
  if (sequenced) {
    seq = nextSeq_++;
    history_.Add(*seq, bytes);
  }
  queue_.push_back(std::move(bytes));
  return seq;
}

RetransmitResult Outbox::Retransmit(int64_t seq, Nanos monoNow) {
  std::lock_guard<PiMutex> lock(mu_);
  std::string bytes;
  const RetransmitResult r = history_.Take(seq, monoNow, &bytes);
  if (r == RetransmitResult::Sent) queue_.push_back(std::move(bytes));
  return r;
}

void Outbox::RefreshLoadAverage(Nanos monoNow) {
  const std::string& now = loadReader_.Get(monoNow);  // reads /proc at most once per second
  std::lock_guard<PiMutex> lock(mu_);
  if (loadavg_ != now) loadavg_ = now;
}

void Outbox::LearnUuid(const std::string& node, const std::string& uuid) {
  std::lock_guard<PiMutex> lock(mu_);
  uuids_[node] = uuid;
}

void Outbox::SetKeys(AuthKeys keys) {
  std::lock_guard<PiMutex> lock(mu_);
  std::swap(keys_, keys);  // the old keys are freed after the unlock
}

void Outbox::TakeQueued(std::deque<std::string>* out) {
  out->clear();
  std::lock_guard<PiMutex> lock(mu_);
  std::swap(*out, queue_);
}

}  // namespace hbd
