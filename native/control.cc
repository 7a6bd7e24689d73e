#include "control.h"

#include <cstdio>
#include <fstream>

namespace hbd {

namespace {

Field* FindMutable(Message& m, const std::string& name) {
  for (Field& f : m) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

void SetString(Message& m, const std::string& name, std::string value) { SetField(m, name, FieldType::String, std::move(value)); }

// NS_ messages keep a control field the caller already put there.
void SetUnlessKept(Message& m, bool keep, const std::string& name, FieldType type, std::string value) {
  if (keep && FindField(m, name)) return;
  SetField(m, name, type, std::move(value));
}

// JSON-ish quoting for error messages: "abc" or null.
std::string Quoted(const std::string* s) { return s ? "\"" + *s + "\"" : "null"; }

}  // namespace

const Field* FindField(const Message& m, const std::string& name) {
  for (const Field& f : m) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

void SetField(Message& m, const std::string& name, FieldType type, std::string bytes) {
  Field* f = FindMutable(m, name);
  if (!f) {
    m.emplace_back();
    f = &m.back();
    f->name = name;
  }
  f->type = type;
  f->bytes = std::move(bytes);
  f->nested.clear();
  f->items.clear();
}

const std::string* StringField(const Message& m, const std::string& name) {
  const Field* f = FindField(m, name);
  return f && f->type == FieldType::String ? &f->bytes : nullptr;
}

bool IsUnsequenced(const Message& m) {
  const std::string* t = StringField(m, "t");
  return t && t->compare(0, 3, "NS_") == 0;
}

std::string Hex(int64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "%llx", static_cast<unsigned long long>(v));
  return buf;
}

std::optional<int64_t> ParseHex(const std::string& s) {
  if (s.empty() || s.size() > 13) return std::nullopt;  // as lib/wire/message.ts getHex: exact in a JS number
  int64_t v = 0;
  for (char c : s) {
    int d;
    if (c >= '0' && c <= '9') d = c - '0';
    else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F') d = c - 'A' + 10;
    else return std::nullopt;
    v = v * 16 + d;
  }
  return v;
}

void AddControlFields(Message& m, const ControlIdentity& id, const ControlStamp& stamp, const UuidTable& uuids) {
  // 1. dest <-> destuuid, when the other side's UUID is known.
  if (const std::string* dest = StringField(m, "dest")) {
    auto it = uuids.find(*dest);
    if (it != uuids.end()) SetField(m, "destuuid", FieldType::Binary, it->second);
  } else if (const Field* du = FindField(m, "destuuid")) {
    for (const auto& [node, uuid] : uuids) {
      if (uuid == du->bytes) {
        SetString(m, "dest", node);
        break;
      }
    }
  }
  // 2.-3. The default fields in heartbeat's order.
  const bool ns = IsUnsequenced(m);
  SetUnlessKept(m, ns, "src", FieldType::String, id.node);
  SetUnlessKept(m, ns, "srcuuid", FieldType::Binary, id.uuid);
  if (!ns) SetString(m, "seq", Hex(stamp.seq));
  SetUnlessKept(m, ns, "hg", FieldType::String, Hex(id.generation));
  SetUnlessKept(m, ns, "ts", FieldType::String, Hex(stamp.unixSeconds));
  if (!ns) SetString(m, "ld", stamp.loadavg);
  SetUnlessKept(m, ns, "ttl", FieldType::String, std::to_string(id.ttl));
}

std::variant<ControlView, std::string> ReadControlFields(const Message& m) {
  // Same checks and wording as lib/transport/inbound.ts readControl().
  ControlView v;
  const std::string* src = StringField(m, "src");
  if (!src || src->empty()) return std::string("no src field");
  v.src = *src;
  const std::string* t = StringField(m, "t");
  if (!t) return std::string("no t field");
  v.type = *t;
  const std::string* ts = StringField(m, "ts");
  const auto tsValue = ts ? ParseHex(*ts) : std::nullopt;
  if (!tsValue || *tsValue == 0) return "ts " + Quoted(ts) + " is not non-zero hex";
  if (v.type.compare(0, 3, "NS_") != 0) {
    const std::string* seq = StringField(m, "seq");
    v.seq = seq ? ParseHex(*seq) : std::nullopt;
    if (!v.seq || *v.seq <= 0) return "t=" + v.type + " needs a positive hex seq, got " + Quoted(seq);
  }
  if (const std::string* hg = StringField(m, "hg")) {
    const auto generation = ParseHex(*hg);
    if (!generation) return "hg " + Quoted(hg) + " is not hex";
    v.generation = *generation;  // heartbeat reads a missing hg as 0
  }
  const Field* su = FindField(m, "srcuuid");
  if (su && su->type == FieldType::Binary) v.srcuuid = &su->bytes;
  v.dest = StringField(m, "dest");
  const Field* du = FindField(m, "destuuid");
  if (du && du->type == FieldType::Binary) v.destuuid = &du->bytes;
  return v;
}

bool IsForUs(const ControlView& v, const std::string& localNode, const std::string& localUuid) {
  if (v.destuuid && v.destuuid->size() == 16 && v.destuuid->find_first_not_of('\0') != std::string::npos) return *v.destuuid == localUuid;
  return !v.dest || *v.dest == localNode;
}

const std::string& LoadAverage::Get(Nanos monoNow) {
  if (read_ && monoNow - readAt_ < 1000000000) return value_;
  read_ = true;
  readAt_ = monoNow;
  std::ifstream f("/proc/loadavg");
  std::string line;
  value_ = std::getline(f, line) && !line.empty() ? line : "n/a";
  return value_;
}

}  // namespace hbd
