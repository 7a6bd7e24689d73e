#include "sd_notify.h"

#include <cstddef>
#include <cstring>

namespace hbd {

std::optional<SysError> NotifySocket::Open(const std::string& address) {
  const std::string what = "systemd notify socket " + address;
  if (address.empty() || (address[0] != '/' && address[0] != '@') || address.size() >= sizeof addr_.sun_path) {
    return SysError{"socket(AF_UNIX)", EINVAL, what + ": NOTIFY_SOCKET must be an absolute path or @abstract name shorter than " + std::to_string(sizeof addr_.sun_path) + " bytes"};
  }
  addr_ = {};
  addr_.sun_family = AF_UNIX;
  std::memcpy(addr_.sun_path, address.data(), address.size());
  if (address[0] == '@') addr_.sun_path[0] = '\0';  // abstract: no terminating NUL counts
  addrLen_ = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + address.size() + (address[0] == '@' ? 0 : 1));
  fd_.reset(socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd_.valid()) return LastError("socket(AF_UNIX)", what);
  address_ = address;
  return std::nullopt;
}

std::optional<SysError> NotifySocket::Send(std::string_view text) const {
  if (sendto(fd_.get(), text.data(), text.size(), MSG_DONTWAIT | MSG_NOSIGNAL, reinterpret_cast<const sockaddr*>(&addr_), addrLen_) >= 0) return std::nullopt;
  return LastError("sendto", "systemd notify socket " + address_);
}

}  // namespace hbd
