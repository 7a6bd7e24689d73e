// The compact byte form in which messages, keys and decode results cross the JS boundary
// (lib/wire/native-pack.ts is the JS side). Reading a JS object through Node-API costs about
// a microsecond per field, building one about as much; one Buffer each way is several times
// cheaper for a caller. Integers are little-endian.
//
//   message := u32 count, field*
//   field   := u8 type, u32 name_len, name (latin1 bytes), value
//   value   := type 0/1/4: u32 len, bytes | type 2: message | type 3: u32 count, (u32 len, bytes)*
//   keys    := u8 send_index, u8 count, (u8 index, u8 method, u32 key_len, key)*
//   decoded := u8 format (0 netstring, 1 classic), u8 verdict, u8 index, u8 method, message
//   method  := 0 crc, 1 md5, 2 sha1, 3 sha256; verdict := the order of hbd::Verdict
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

#include "codec.h"

namespace hbd {

// Both return false with *error naming the problem for input that is not in the packed form.
bool UnpackMessage(const uint8_t* data, size_t len, Message* out, std::string* error);
bool UnpackKeys(const uint8_t* data, size_t len, AuthKeys* out, std::string* error);

std::string PackDecoded(const Decoded& d);

}  // namespace hbd
