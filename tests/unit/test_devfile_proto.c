// SPDX-License-Identifier: GPL-2.0
/*
 * The device-file protocol's wire layout (devfile/include/devfile/proto.h,
 * docs/devfile.md): the guest's stub, devirt and the driver VM's shim are
 * built by different compilers in different modes and exchange these
 * structures as bytes, so every offset and size is pinned here. A change
 * that moves a field must bump DEVFILE_PROTO_MAJOR.
 */
#include <stddef.h>

#include "../../devfile/include/devfile/proto.h"
#include "unit.h"

#define OFF(type, field) offsetof(struct type, field)

int main(void)
{
	/* Request: 144 bytes. */
	CHECK_EQ(sizeof(struct devfile_req), 144);
	CHECK_EQ(OFF(devfile_req, magic), 0);
	CHECK_EQ(OFF(devfile_req, major), 4);
	CHECK_EQ(OFF(devfile_req, minor), 6);
	CHECK_EQ(OFF(devfile_req, op), 8);
	CHECK_EQ(OFF(devfile_req, flags), 12);
	CHECK_EQ(OFF(devfile_req, seq), 16);
	CHECK_EQ(OFF(devfile_req, handle), 24);
	CHECK_EQ(OFF(devfile_req, a), 32);
	CHECK_EQ(sizeof(((struct devfile_req *)0)->a), 6 * 8);
	CHECK_EQ(OFF(devfile_req, name), 80);
	CHECK_EQ(sizeof(((struct devfile_req *)0)->name), DEVFILE_NAME_MAX);

	/* Response: 120 bytes. */
	CHECK_EQ(sizeof(struct devfile_resp), 120);
	CHECK_EQ(OFF(devfile_resp, seq), 0);
	CHECK_EQ(OFF(devfile_resp, ret), 8);
	CHECK_EQ(sizeof(((struct devfile_resp *)0)->ret), 8);
	CHECK_EQ(OFF(devfile_resp, handle), 16);
	CHECK_EQ(OFF(devfile_resp, v), 24);
	CHECK_EQ(sizeof(((struct devfile_resp *)0)->v), 4 * 8);
	CHECK_EQ(OFF(devfile_resp, name), 56);

	/* Notification: 16 bytes. */
	CHECK_EQ(sizeof(struct devfile_note_msg), 16);
	CHECK_EQ(OFF(devfile_note_msg, type), 0);
	CHECK_EQ(OFF(devfile_note_msg, events), 4);
	CHECK_EQ(OFF(devfile_note_msg, handle), 8);

	/* Values fixed by the protocol (docs/devfile.md). */
	CHECK_EQ(DEVFILE_MAGIC, 0x31465644);
	CHECK(!memcmp(&(unsigned int){ DEVFILE_MAGIC }, "DVF1", 4));
	CHECK_EQ(DEVFILE_PROTO_MAJOR, 1);
	CHECK(DEVFILE_PROTO_MINOR >= 1);
	CHECK_EQ(DEVFILE_OP_NULL, 0);
	CHECK_EQ(DEVFILE_OP_LIST, 1);
	CHECK_EQ(DEVFILE_OP_OPEN, 2);
	CHECK_EQ(DEVFILE_OP_RELEASE, 3);
	CHECK_EQ(DEVFILE_OP_READ, 4);
	CHECK_EQ(DEVFILE_OP_WRITE, 5);
	CHECK_EQ(DEVFILE_OP_LLSEEK, 6);
	CHECK_EQ(DEVFILE_OP_IOCTL, 7);
	CHECK_EQ(DEVFILE_OP_POLL, 8);
	CHECK_EQ(DEVFILE_OP_FASYNC, 9);
	CHECK_EQ(DEVFILE_OP_MMAP, 10);
	CHECK_EQ(DEVFILE_OP_FAULT, 11);
	CHECK_EQ(DEVFILE_OP_MUNMAP, 12);
	CHECK_EQ(DEVFILE_OP_IDENT, 13); /* minor 2 */
	CHECK_EQ(DEVFILE_OP_MAX, 14);
	CHECK_EQ(DEVFILE_NOTE_POLL, 1);
	CHECK_EQ(DEVFILE_NOTE_SIGIO, 2);
	CHECK_EQ(DEVFILE_NOTE_EXPORTS, 3);
	CHECK_EQ(DEVFILE_REQ_NONBLOCK, 1);
	CHECK_EQ(DEVFILE_REQ_COMPAT, 2);
	CHECK_EQ(DEVFILE_POLL_ARM, 1);
	CHECK_EQ(DEVFILE_HANDLE_NONE, 0);
	/* Errors are Linux's (x86-64) errno values. */
	CHECK_EQ(DEVFILE_EBADF, 9);
	CHECK_EQ(DEVFILE_EACCES, 13);
	CHECK_EQ(DEVFILE_EFAULT, 14);
	CHECK_EQ(DEVFILE_EINVAL, 22);
	CHECK_EQ(DEVFILE_ENOSYS, 38);
	CHECK_EQ(DEVFILE_EPROTO, 71);
	return unit_done();
}
