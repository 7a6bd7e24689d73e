// Link watch: an rtnetlink socket (RTMGRP_LINK | RTMGRP_IPV4_IFADDR) in the engine's epoll, so
// that a medium whose interface is deleted and re-created (VLANs, bridges: a new ifindex) is
// reopened without restarting the daemon.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "fd.h"
#include "sys_error.h"

namespace hbd {

struct LinkChange {
  enum class Kind {
    LinkNew,  // RTM_NEWLINK: an interface appeared or changed
    LinkGone, // RTM_DELLINK
    AddrNew,  // RTM_NEWADDR: an IPv4 address was added (bcast needs one for its broadcast address)
    Resync,   // the kernel dropped notifications (ENOBUFS): re-check every medium
  };
  Kind kind;
  int ifindex = 0;
  std::string ifname;  // empty when the message did not carry it
};

class LinkWatch {
 public:
  std::optional<SysError> Open();
  void Close() { fd_.reset(); }
  int fd() const { return fd_.get(); }
  // Every change queued on the socket; never blocks.
  std::vector<LinkChange> Drain();

 private:
  Fd fd_;
};

}  // namespace hbd
