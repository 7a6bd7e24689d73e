// The engine's receive path for one datagram: authentication before parsing where the format
// allows (native/preauth.h), decode and verify (codec), the control-field checks of spec §7.6
// step 1, node identity, then liveness; appends the events it causes in order (liveness events
// first, then `status` / `message`). Failures are counted in the AuthFailSummary, not reported
// one by one.
#pragma once
#include <string>
#include <vector>

#include "auth_fail_summary.h"
#include "codec.h"
#include "engine_events.h"
#include "engine_outbox.h"
#include "liveness.h"
#include "media.h"
#include "preauth.h"
#include "status_filter.h"

namespace hbd {

struct ReceiveContext {
  const AuthKeys& keys;
  const PacketVerifier& verifier;
  const std::string& localNode;
  const std::string& localUuid;
  Liveness& liveness;
  Outbox& outbox;  // learns the UUIDs of verified senders
  AuthFailSummary& authFails;
  StatusFilter& statuses;  // which accepted statuses JavaScript hears now
};

// `mono`/`wall`: the datagram's arrival time in ms (kernel timestamp when there is one). True when
// it was an authenticated packet of the local node itself (a broadcast of ours come back).
bool ReceiveDatagram(const ReceiveContext& ctx, const Datagram& d, const std::string& link, double mono, double wall, std::vector<EngineEvent>* out);

// The auth-fail reason for a verdict other than Ok; the wording of lib/transport/inbound.ts.
std::string VerdictReason(const AuthVerdict& v);

}  // namespace hbd
