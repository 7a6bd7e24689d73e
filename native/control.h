// The control fields of spec §4 (src, srcuuid, seq, hg, ts, ld, ttl, and dest/destuuid): added
// to every message we send, in heartbeat's order with modify-or-append, and read back from every
// message we receive.
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>

#include "clock.h"
#include "codec.h"

namespace hbd {

const Field* FindField(const Message& m, const std::string& name);
// Replaces the value of the first field called `name` in place, or appends one (heartbeat's
// modify-or-append: an existing field keeps its position).
void SetField(Message& m, const std::string& name, FieldType type, std::string bytes);
// The value of a string field, or null when absent or of another type.
const std::string* StringField(const Message& m, const std::string& name);

// `t` starts with NS_: no seq, no ld, and existing src/srcuuid/hg/ts/ttl are kept.
bool IsUnsequenced(const Message& m);

struct ControlIdentity {
  std::string node;
  std::string uuid;  // 16 bytes
  int64_t generation = 0;
  int ttl = 0;
};

struct ControlStamp {
  int64_t seq = 0;  // ignored for NS_ types
  int64_t unixSeconds = 0;
  std::string loadavg;
};

// Node name -> 16-byte UUID, as learned from srcuuid (for dest -> destuuid).
using UuidTable = std::map<std::string, std::string>;

void AddControlFields(Message& m, const ControlIdentity& id, const ControlStamp& stamp, const UuidTable& uuids);

// What the receive path needs from a message; nullopt fields were absent.
struct ControlView {
  std::string type;  // t
  std::string src;
  std::optional<int64_t> seq;  // absent for NS_ types
  int64_t generation = 0;       // hg; 0 when absent
  const std::string* srcuuid = nullptr;
  const std::string* dest = nullptr;
  const std::string* destuuid = nullptr;
};

// Heartbeat's acceptance rules (spec §7.6 step 1); the error names the field. NS_ types get no seq.
std::variant<ControlView, std::string> ReadControlFields(const Message& m);

// heartbeat's IsToUs: a non-zero 16-byte destuuid when present, else dest; neither = broadcast.
bool IsForUs(const ControlView& v, const std::string& localNode, const std::string& localUuid);

// Hex digits of either case, 1–13 of them (exact as a JS number), as lib/wire/message.ts getHex.
std::optional<int64_t> ParseHex(const std::string& s);
std::string Hex(int64_t v);

// The `ld` value: the first line of /proc/loadavg, read at most once per second ("n/a" when unreadable).
class LoadAverage {
 public:
  const std::string& Get(Nanos monoNow);

 private:
  std::string value_;
  Nanos readAt_ = 0;
  bool read_ = false;
};

}  // namespace hbd
