/* SPDX-License-Identifier: GPL-2.0 */
/*
 * devfile: the device-file forwarding protocol, defined once. The guest
 * stub (guest-driver/), the shim in the driver VM (hostos-shim/) and the
 * hypervisor (vmm/, devfile/) all include this header; docs/devfile.md
 * describes it. It uses only plain C types so that freestanding code and
 * Linux modules can both include it.
 *
 * A request names one file operation on one open device file. Pointers in
 * a request are the calling process's own user addresses, passed through
 * untouched: the driver's copy_from_user()/copy_to_user() reach the
 * caller's memory (address-space mirroring), so no operation needs a
 * description of its arguments.
 */
#ifndef DEVFILE_PROTO_H
#define DEVFILE_PROTO_H

#define DEVFILE_PROTO_MAJOR 1
/*
 * Minor 1 (compatible with 0, whose peers ignore the additions): OPEN
 * returns DEVFILE_OPEN_* in v[0], MMAP returns DEVFILE_MAP_* in v[1], and
 * requests may carry DEVFILE_REQ_COMPAT.
 */
/*
 * Minor 2: IDENT, NOTE_EXPORTS and -EACCES from the hypervisor's
 * per-VM device list (boot config `devices =`).
 */
/* Minor 3: NOTE_REVOKE (the driver VM takes zero-copy frames back). */
#define DEVFILE_PROTO_MINOR 3
#define DEVFILE_MAGIC 0x31465644u /* "DVF1", little-endian */

#define DEVFILE_NAME_MAX 64 /* device name under /dev, NUL included */

/*
 * Operations. a[] are the request arguments, v[] the response values; "->"
 * is what ret holds on success. File positions are the caller's: the stub
 * keeps f_pos and sends it, the shim returns the new one, so a handle has
 * no position of its own.
 */
enum devfile_op {
	/* No operation: the round trip alone (latency benchmarks). -> 0 */
	DEVFILE_OP_NULL = 0,
	/* Describe exported device a[0] (0, 1, ...): name in resp->name,
	 * v[0] = mode bits (S_IFCHR | 0666...), v[1] = major, v[2] = minor.
	 * -> 0, or -ENOENT past the last one. */
	DEVFILE_OP_LIST = 1,
	/* Open exported device req->name with O_* flags a[0]. -> 0, the
	 * handle in resp->handle, v[0] = DEVFILE_OPEN_* (how the real file
	 * treats positions, so that the stub's file can match it). */
	DEVFILE_OP_OPEN = 2,
	/* Close the handle. -> 0 */
	DEVFILE_OP_RELEASE = 3,
	/* a[0] = user buffer, a[1] = count, a[2] = position. -> bytes, and
	 * v[0] = the new position. */
	DEVFILE_OP_READ = 4,
	DEVFILE_OP_WRITE = 5,
	/* a[0] = offset, a[1] = whence (SEEK_*), a[2] = current position.
	 * -> 0, v[0] = the new position. */
	DEVFILE_OP_LLSEEK = 6,
	/* a[0] = cmd, a[1] = arg (a user pointer or a value, untouched).
	 * -> the driver's return value. */
	DEVFILE_OP_IOCTL = 7,
	/* a[0] = events of interest (POLL*), a[1] = DEVFILE_POLL_ARM to be
	 * notified (DEVFILE_NOTE_POLL) when any becomes ready.
	 * -> the ready events (revents). */
	DEVFILE_OP_POLL = 8,
	/* a[0] = 1 on, 0 off: the shim watches for the driver's SIGIO and
	 * notifies the stub (DEVFILE_NOTE_SIGIO), which signals locally. */
	DEVFILE_OP_FASYNC = 9,
	/* Map a[1] bytes at page offset a[2] of the file, a[3] = PROT_*,
	 * a[4] = MAP_* flags, a[0] = the caller's vma start. -> 0,
	 * v[0] = a mapping id for FAULT and MUNMAP, v[1] = DEVFILE_MAP_*. */
	DEVFILE_OP_MMAP = 10,
	/* Page a[1] (index from the mapping's start) of mapping a[0] was
	 * touched, a[2] = 1 for a write. -> 0, v[0] = the frame to map
	 * (a guest-physical address in the device window, or for loopback
	 * a physical address), v[1] = DEVFILE_MT_* memory type. */
	DEVFILE_OP_FAULT = 11,
	/* Unmap mapping a[0]; its frames leave the caller. -> 0 */
	DEVFILE_OP_MUNMAP = 12,
	/* Identity of exported device req->name (docs/devfile.md,
	 * "Device identity"): a text the shim builds from the driver VM's
	 * sysfs. a[0] = byte offset. -> the text's total length; resp->name
	 * holds v[0] (at most DEVFILE_NAME_MAX) bytes from the offset, not
	 * NUL-terminated. -ENOENT: not exported, -ENXIO: no such node now,
	 * -EINVAL: offset past the end. */
	DEVFILE_OP_IDENT = 13,
	DEVFILE_OP_MAX
};

#define DEVFILE_POLL_ARM 1u
#define DEVFILE_MT_WB 0u
#define DEVFILE_MT_UC 1u
#define DEVFILE_MT_WC 2u

/* OPEN v[0]: properties of the real file (its FMODE_* bits). */
#define DEVFILE_OPEN_STREAM 1u /* stream_open(): no position at all */
#define DEVFILE_OPEN_NOLSEEK 2u /* llseek gives -ESPIPE */
#define DEVFILE_OPEN_NOPREAD 4u /* pread gives -ESPIPE */
#define DEVFILE_OPEN_NOPWRITE 8u /* pwrite gives -ESPIPE */

/* MMAP v[1]: properties of the real mapping. */
#define DEVFILE_MAP_NOSPLIT 1u /* the driver refuses to split it */

/* Request flags. */
#define DEVFILE_REQ_NONBLOCK 1u /* the caller's file is O_NONBLOCK */
#define DEVFILE_REQ_COMPAT 2u /* a 32-bit caller: IOCTL is compat_ioctl */

/*
 * Errors are Linux errno values, negated in ret, so that a driver's own
 * error reaches the guest process unchanged. The protocol itself uses:
 */
#define DEVFILE_EPERM 1 /* the caller may not (CPL) */
#define DEVFILE_ENOENT 2 /* no such exported device */
#define DEVFILE_ENXIO 6 /* exported, but no such node in the driver VM */
#define DEVFILE_EINTR 4 /* interrupted: the caller had a signal */
#define DEVFILE_EBADF 9 /* unknown, stale, closed or foreign handle */
#define DEVFILE_EAGAIN 11
#define DEVFILE_ENOMEM 12
#define DEVFILE_EACCES 13 /* not in this VM's `devices` (hypervisor) */
#define DEVFILE_EFAULT 14 /* an address the caller does not map */
#define DEVFILE_EBUSY 16 /* too many requests in flight */
#define DEVFILE_ENODEV 19 /* no shim is attached */
#define DEVFILE_EINVAL 22 /* bad argument or size */
#define DEVFILE_ENOTTY 25
#define DEVFILE_ENOSYS 38 /* unknown op */
#define DEVFILE_EPROTO 71 /* bad magic or incompatible major version */
/* Hypercall transport: not done yet, collect with DEVIRT_HC_DEVFILE_FETCH
 * after the completion interrupt; resp.handle is the slot. */
#define DEVFILE_EINPROGRESS 115

/*
 * Handles are opaque to the stub. The shim encodes a slot and a
 * generation, so a stale or forged handle is refused (-EBADF) instead of
 * reaching another file. Each client (guest) has its own handle table:
 * another client's handle is unknown to it (-EBADF too, which does not
 * tell it that the handle exists elsewhere).
 */
#define DEVFILE_HANDLE_NONE 0ULL

struct devfile_req {
	unsigned int magic; /* DEVFILE_MAGIC */
	unsigned short major; /* DEVFILE_PROTO_MAJOR */
	unsigned short minor;
	unsigned int op; /* enum devfile_op */
	unsigned int flags; /* DEVFILE_REQ_* */
	unsigned long long seq; /* chosen by the caller, echoed back */
	unsigned long long handle;
	unsigned long long a[6];
	char name[DEVFILE_NAME_MAX]; /* OPEN */
};

struct devfile_resp {
	unsigned long long seq;
	long long ret; /* >= 0 result, < 0 -errno */
	unsigned long long handle; /* OPEN */
	unsigned long long v[4];
	char name[DEVFILE_NAME_MAX]; /* LIST */
};

/* Asynchronous notifications from the shim to the stub. */
enum devfile_note {
	DEVFILE_NOTE_POLL = 1, /* handle is ready: wake its poll waiters */
	DEVFILE_NOTE_SIGIO = 2, /* handle raised SIGIO: kill_fasync */
	/* The set of exports may have changed (handle 0): the shim attached,
	 * changed its list or detached, or the driver VM stopped. The stub
	 * lists again and adds and removes nodes. */
	DEVFILE_NOTE_EXPORTS = 3,
	/* The driver VM took back the frames of events pages at the device
	 * window address handle (GREVOKE): drop the page-table entries that
	 * map them, and give the pages back (GUNMAP); they re-fault. */
	DEVFILE_NOTE_REVOKE = 4,
};

/*
 * The identity text (IDENT): lines of the driver VM's sysfs for the node
 * (level 0) and its parent devices (1, 2, ...), up to and including the
 * first one on a bus. Values are escaped: "\\" for a backslash, "\n"
 * for a newline, "\xHH" for other bytes below 0x20 or 0x7f.
 *
 *   D <level> <subsystem> <c|b> <name>   a device: class or bus, its name
 *   E <level> <KEY>=<value>              a line of its uevent
 *   A <level> <attr> <value>             an attribute file (attr may be
 *                                        "group/name", one level deep)
 *
 * Every level starts with its D line; levels come in order from 0.
 */
#define DEVFILE_IDENT_MAX 16384

struct devfile_note_msg {
	unsigned int type; /* enum devfile_note */
	unsigned int events; /* POLL* bits */
	unsigned long long handle;
};

#endif
