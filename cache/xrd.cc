// xrd.cc — the only C++ of anafs: thin wrappers over XrdCl's synchronous
// calls behind the C interface of xrd.h.  Each call maps the client's
// status to a negative errno and copies its own words into msg; no
// exception leaves this file.
//
// It is built as a module of its own, anafs-xrd.so, that cache/xrd_load.c
// loads at the first root:// URL (docs/internals.md "The XRootD module"):
// XrdCl's start-up (its threads, a DNS lookup of the host's own name)
// costs every process that links it about 5 ms, and a command that reads
// only local files should neither pay that nor depend on the resolver.
// The module exports one symbol, anafs_xrd_api(); every xrd_*() here is
// hidden (-fvisibility=hidden), so the program's trampolines of the same
// names and these never meet.
#include "xrd.h"
#include "xrd_api.h"

#include <XProtocol/XProtocol.hh>
#include <XrdCl/XrdClDefaultEnv.hh>
#include <XrdCl/XrdClEnv.hh>
#include <XrdCl/XrdClFile.hh>
#include <XrdCl/XrdClFileSystem.hh>
#include <XrdCl/XrdClLog.hh>
#include <XrdCl/XrdClURL.hh>
#include <XrdCl/XrdClXRootDResponses.hh>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <new>
#include <string>

static_assert(XRD_MAX_CHUNKS == XrdProto::maxRvecsz, "vector read chunk count");
// XProtocol.hh of 5.5 has no maxRVdsz yet; newer ones define it as the
// server's buffer (2 MiB) less one read_list item, which is this.
static_assert(XRD_MAX_CHUNK_LEN == (2u << 20) - XrdProto::rlItemLen, "vector read chunk size");

struct xrd_file {
	XrdCl::File f;
};

namespace {

// Quiet logging, timeouts checked every second (so that a call's timeout
// holds to the second, not to XrdCl's default 15), and no stream error
// window (which would fail every request to a server at once for 30
// minutes after one fatal connection error, while src_xrd.c wants each
// retry to try).  PutInt() keeps what the shell environment set.
// The fork handler is turned off by XRD_RUNFORKHANDLER=0, which xrd_load.c
// puts in the environment before main(): changed here, the setting raced
// with a fork() in another thread.
void setup()
{
	static std::once_flag once;
	std::call_once(once, [] {
		XrdCl::Env *env = XrdCl::DefaultEnv::GetEnv();
		if (!getenv("XRD_LOGLEVEL"))
			XrdCl::DefaultEnv::GetLog()->SetLevel(XrdCl::Log::NoMsg);
		env->PutInt("TimeoutResolution", 1);
		env->PutInt("StreamErrorWindow", 0);
	});
}

uint16_t timeout16(unsigned t)
{
	return (uint16_t)(t < 1 ? 1 : t > 65535 ? 65535 : t);
}

void say(char *msg, size_t cap, const std::string &s)
{
	if (cap)
		snprintf(msg, cap, "%s", s.c_str());
}

int from_server(uint32_t xerr)
{
	switch (xerr) {
	case kXR_NotFound:
		return -ENOENT;
	case kXR_NotAuthorized:
		return -EACCES;
	case kXR_isDirectory:
		return -EISDIR;
	case kXR_Overloaded:
	case kXR_inProgress:
		return -EBUSY;
	case kXR_FileNotOpen:
		return XRD_ESTALE;
	case kXR_noserver:
		return -EHOSTUNREACH;
	case kXR_ArgInvalid:
		return -EINVAL;
	default:
		return -EIO;
	}
}

int connect_errno(uint32_t os)
{
	return os == EHOSTUNREACH || os == ENETUNREACH ? -EHOSTUNREACH : -ECONNREFUSED;
}

// The errno of a failed status, and its words in msg.
int fail(const XrdCl::XRootDStatus &st, char *msg, size_t cap)
{
	// The server's own words and code, as xrdfs prints them.
	if (st.code == XrdCl::errErrorResponse)
		say(msg, cap, "[ERROR] Server responded with an error: [" + std::to_string(st.errNo) +
				      "] " + st.GetErrorMessage());
	else if (st.code == XrdCl::errInvalidAddr)
		say(msg, cap, st.ToString() + " (the host name resolves to no address)");
	else
		say(msg, cap, st.ToString());
	switch (st.code) {
	case XrdCl::errErrorResponse:
		return from_server(st.errNo);
	case XrdCl::errConnectionError:
		return connect_errno(st.errNo);
	case XrdCl::errInvalidAddr: // the host name resolves to nothing: a typo
		return -ENXIO;
	case XrdCl::errSocketTimeout:
	case XrdCl::errOperationExpired:
		return -ETIMEDOUT;
	case XrdCl::errSocketError:
	case XrdCl::errSocketDisconnected:
	case XrdCl::errStreamDisconnect:
	case XrdCl::errPollerError:
		return -ECONNRESET;
	case XrdCl::errInvalidSession:
	case XrdCl::errInvalidOp: // the file went bad with its connection
		return XRD_ESTALE;
	case XrdCl::errRetry:
	case XrdCl::errOperationInterrupted:
		return -EAGAIN;
	case XrdCl::errAuthFailed:
	case XrdCl::errLoginFailed:
		return -EACCES;
	case XrdCl::errNotFound:
		return -ENOENT;
	case XrdCl::errInvalidArgs:
		return -EINVAL;
	default:
		return -EIO;
	}
}

void fill(const XrdCl::StatInfo &si, struct xrd_info *info)
{
	info->size = si.GetSize();
	info->mtime_s = (int64_t)si.GetModTime();
	info->is_dir = si.TestFlags(XrdCl::StatInfo::IsDir);
	info->regular = !info->is_dir && !si.TestFlags(XrdCl::StatInfo::Other);
}

// Run fn, turning any exception into an errno and words.
template <typename Fn> auto guard(char *msg, size_t cap, Fn fn) -> decltype(fn())
{
	try {
		setup();
		return fn();
	} catch (const std::bad_alloc &) {
		say(msg, cap, "out of memory in the XRootD client");
		return -ENOMEM;
	} catch (const std::exception &e) {
		say(msg, cap, std::string("XRootD client: ") + e.what());
		return -EIO;
	} catch (...) {
		say(msg, cap, "XRootD client: an unknown exception");
		return -EIO;
	}
}

// A FileSystem for the server of url, and the path on it.
int split(const char *url, std::unique_ptr<XrdCl::FileSystem> &fs, std::string &path, char *msg,
	  size_t cap)
{
	XrdCl::URL u(url);
	if (!u.IsValid()) {
		say(msg, cap, "not a valid XRootD URL");
		return -EINVAL;
	}
	path = u.GetPathWithParams();
	if (path.empty() || path[0] != '/')
		path.insert(0, "/");
	fs.reset(new XrdCl::FileSystem(u));
	return 0;
}

} // namespace

// Frees a file once the answer to its close came.
class closer : public XrdCl::ResponseHandler
{
public:
	explicit closer(xrd_file *x) : x_(x) {}
	void HandleResponse(XrdCl::XRootDStatus *st, XrdCl::AnyObject *r) override
	{
		delete st;
		delete r;
		delete x_;
		delete this;
	}

private:
	xrd_file *x_;
};

extern "C" {

bool xrd_transient(int rc)
{
	switch (rc) {
	case -ECONNREFUSED:
	case -EHOSTUNREACH:
	case -ETIMEDOUT:
	case -ECONNRESET:
	case -EBUSY:
	case -EAGAIN:
	case XRD_ESTALE:
		return true;
	default:
		return false;
	}
}

int xrd_open(const char *url, unsigned timeout_s, struct xrd_file **out, char *msg, size_t cap)
{
	return guard(msg, cap, [&]() -> int {
		std::unique_ptr<xrd_file> x(new xrd_file);
		// No recovery of the client's own: it would open the file again by
		// name after a lost connection, whatever the file now is.
		if (!getenv("XRD_READRECOVERY"))
			x->f.SetProperty("ReadRecovery", "false");
		XrdCl::XRootDStatus st =
			x->f.Open(url, XrdCl::OpenFlags::Read, XrdCl::Access::None, timeout16(timeout_s));
		if (!st.IsOK())
			return fail(st, msg, cap);
		*out = x.release();
		return 0;
	});
}

// What a stat call answered (si taken over) into info.
static int stat_answer(const XrdCl::XRootDStatus &st, XrdCl::StatInfo *si, struct xrd_info *info,
		       char *msg, size_t cap)
{
	std::unique_ptr<XrdCl::StatInfo> hold(si);
	if (!st.IsOK())
		return fail(st, msg, cap);
	if (!si) {
		say(msg, cap, "stat: no answer from the server");
		return -EIO;
	}
	fill(*si, info);
	return 0;
}

int xrd_fstat(struct xrd_file *x, unsigned timeout_s, struct xrd_info *info, char *msg,
	      size_t cap)
{
	return guard(msg, cap, [&]() -> int {
		XrdCl::StatInfo *si = nullptr;
		// Not forced: the stat that came with the open's answer
		// (kXR_retstat), no second round trip.
		XrdCl::XRootDStatus st = x->f.Stat(false, si, timeout16(timeout_s));
		return stat_answer(st, si, info, msg, cap);
	});
}

int xrd_stat(const char *url, unsigned timeout_s, struct xrd_info *info, char *msg, size_t cap)
{
	return guard(msg, cap, [&]() -> int {
		std::unique_ptr<XrdCl::FileSystem> fs;
		std::string path;
		int rc = split(url, fs, path, msg, cap);
		if (rc)
			return rc;
		XrdCl::StatInfo *si = nullptr;
		XrdCl::XRootDStatus st = fs->Stat(path, si, timeout16(timeout_s));
		return stat_answer(st, si, info, msg, cap);
	});
}

ssize_t xrd_read(struct xrd_file *x, void *buf, uint32_t len, uint64_t off, unsigned timeout_s,
		 char *msg, size_t cap)
{
	return guard(msg, cap, [&]() -> ssize_t {
		uint32_t got = 0;
		XrdCl::XRootDStatus st = x->f.Read(off, len, buf, got, timeout16(timeout_s));
		if (!st.IsOK())
			return fail(st, msg, cap);
		return (ssize_t)got;
	});
}

int xrd_readv(struct xrd_file *x, const struct xrd_chunk *c, size_t n, unsigned timeout_s,
	      char *msg, size_t cap)
{
	return guard(msg, cap, [&]() -> int {
		XrdCl::ChunkList chunks;
		chunks.reserve(n);
		for (size_t i = 0; i < n; i++)
			chunks.emplace_back(c[i].off, c[i].len, c[i].buf);
		XrdCl::VectorReadInfo *vi = nullptr;
		XrdCl::XRootDStatus st = x->f.VectorRead(chunks, nullptr, vi, timeout16(timeout_s));
		std::unique_ptr<XrdCl::VectorReadInfo> hold(vi);
		if (!st.IsOK())
			return fail(st, msg, cap);
		uint64_t want = 0;
		for (size_t i = 0; i < n; i++)
			want += c[i].len;
		if (!vi || vi->GetSize() != want) {
			say(msg, cap, "vector read: the server sent fewer bytes than asked for");
			return -EIO;
		}
		return 0;
	});
}

int xrd_dirlist(const char *url, unsigned timeout_s,
		int (*each)(void *ctx, const char *name, const struct xrd_info *info), void *ctx,
		char *msg, size_t cap)
{
	return guard(msg, cap, [&]() -> int {
		std::unique_ptr<XrdCl::FileSystem> fs;
		std::string path;
		int rc = split(url, fs, path, msg, cap);
		if (rc)
			return rc;
		XrdCl::DirectoryList *dl = nullptr;
		XrdCl::XRootDStatus st =
			fs->DirList(path, XrdCl::DirListFlags::Stat, dl, timeout16(timeout_s));
		std::unique_ptr<XrdCl::DirectoryList> hold(dl);
		if (!st.IsOK())
			return fail(st, msg, cap);
		if (!dl)
			return 0;
		for (auto it = dl->Begin(); it != dl->End() && !rc; ++it) {
			const XrdCl::StatInfo *si = (*it)->GetStatInfo();
			struct xrd_info info = {};
			if (si)
				fill(*si, &info);
			rc = each(ctx, (*it)->GetName().c_str(), &info);
		}
		return rc;
	});
}

void xrd_close(struct xrd_file *x, unsigned timeout_s)
{
	if (!x)
		return;
	char msg[8];
	(void)guard(msg, sizeof(msg), [&]() -> int {
		if (x->f.IsOpen()) {
			// Sent, not waited for: a read-only file has nothing to lose
			// in its close, and a close that waits costs a round trip per
			// file.  The handler frees x when the answer (or the timeout)
			// comes; if the close cannot even be sent, x goes now.
			std::unique_ptr<closer> h(new closer(x));
			XrdCl::XRootDStatus st = x->f.Close(h.get(), timeout16(timeout_s));
			if (st.IsOK()) {
				h.release();
				return 0;
			}
		}
		delete x;
		return 0;
	});
}

static const struct xrd_api api = {
	XRD_API_VERSION, sizeof(struct xrd_api), xrd_transient, xrd_open, xrd_fstat, xrd_stat,
	xrd_read, xrd_readv, xrd_dirlist, xrd_close,
};

__attribute__((visibility("default"))) const struct xrd_api *anafs_xrd_api(void)
{
	return &api;
}

} // extern "C"
