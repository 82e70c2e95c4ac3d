/* SPDX-License-Identifier: GPL-2.0 */
/*
 * devfile_testdev: the interface of the test character device
 * /dev/devfile_test (tests/modules/devfile_testdev.c), shared by the module
 * and by user space (tests/guest/devfile_suite.c). Plain C types only, so
 * that the layout is the same for every compiler and for both sides of
 * device-file forwarding. docs/devfile-testdev.md describes the device.
 * The module's instances= parameter adds /dev/devfile_test1, 2, ...: each
 * instance has its own state; only MEET is shared.
 *
 * Every _IOR/_IOW/_IOWR ioctl takes a pointer to its argument; the one
 * _IO ioctl with an argument (ECHO) takes a plain value.
 */
#ifndef DEVFILE_TESTDEV_H
#define DEVFILE_TESTDEV_H

#ifdef __KERNEL__
#include <linux/ioctl.h>
#else
#include <sys/ioctl.h>
#endif

#define DEVFILE_TEST_NAME "devfile_test" /* /dev/devfile_test */

/* The data buffer: read/write/llseek in buffer mode, mmap regions 0, 1. */
#define DEVFILE_TEST_BUF_SIZE ((16UL << 20) + 4096UL)
/* The FIFO of pipe mode. */
#define DEVFILE_TEST_FIFO_SIZE 65536UL
/* The "MMIO-like" region: physically contiguous, uncached. */
#define DEVFILE_TEST_MMIO_SIZE 65536UL
/* The largest buffer the NESTED ioctl accepts. */
#define DEVFILE_TEST_NESTED_MAX 65536UL

/*
 * mmap regions: the byte offset of the mapping (page offset << PAGE_SHIFT)
 * selects the region (its upper bits) and the offset inside it (the low
 * 30 bits). Mappings must be MAP_SHARED and lie inside the region.
 */
#define DEVFILE_TEST_MAP_RAM_FAULT 0x00000000ULL /* buffer, by fault */
#define DEVFILE_TEST_MAP_RAM_UPFRONT 0x40000000ULL /* buffer, at mmap */
#define DEVFILE_TEST_MAP_MMIO_UPFRONT 0x80000000ULL /* MMIO, at mmap, UC */
#define DEVFILE_TEST_MAP_MMIO_FAULT 0xC0000000ULL /* MMIO, by fault, UC */
#define DEVFILE_TEST_MAP_REGION_MASK 0xC0000000ULL
#define DEVFILE_TEST_MAP_OFFSET_MASK 0x3FFFFFFFULL
/*
 * Inside region RAM_FAULT, past the buffer: the movable region, pages
 * that MOVE replaces as TTM moves a buffer object (its own pages, PFNMAP,
 * inserted on fault; every mapping is zapped at each MOVE).
 */
#define DEVFILE_TEST_MAP_MOVABLE 0x20000000ULL
#define DEVFILE_TEST_MOVABLE_PAGES 16
/* What MOVE fills the pages it replaced with: their "new owner's" data. */
#define DEVFILE_TEST_MOVE_MARKER 0x5A

/* SET_MODE values (per open file). */
#define DEVFILE_TEST_MODE_BUFFER 0
#define DEVFILE_TEST_MODE_PIPE 1

/* GET_INFO: the device's counters at the time of the call. */
struct devfile_test_info {
	unsigned long long open_files; /* open files now */
	unsigned long long total_opens; /* opens since load or RESET */
	unsigned long long total_releases; /* releases since load or RESET */
	unsigned long long reads; /* read calls since load or RESET */
	unsigned long long writes; /* write calls since load or RESET */
	unsigned long long ioctls; /* ioctl calls (this one included) */
	unsigned long long active_mmaps; /* mappings (vmas) now */
	unsigned long long mapped_pages; /* pages those mappings span */
	unsigned long long fasync; /* files registered for SIGIO now */
	unsigned long long blocked_readers; /* readers waiting on the FIFO */
	unsigned long long fifo_bytes; /* bytes in the FIFO */
	unsigned long long buf_size; /* DEVFILE_TEST_BUF_SIZE */
	unsigned long long mmio_size; /* DEVFILE_TEST_MMIO_SIZE */
	unsigned long long mmio_uc; /* 1: the MMIO pages are uncached */
	unsigned long long
		meet_waiting; /* MEET callers waiting (all instances) */
	unsigned long long moves; /* MOVEs since load or RESET */
	unsigned long long stray_bytes; /* stray bytes MOVE/CHECK found */
};

/* XOR: out = in ^ key. */
struct devfile_test_xor {
	unsigned long long in;
	unsigned long long key;
	unsigned long long out;
};

/*
 * NESTED: the argument points to an outer struct whose inner_ptr points
 * to an inner struct whose buf_ptr points to len bytes (at most
 * DEVFILE_TEST_NESTED_MAX). The driver stores the sum of the bytes in
 * result and increments every byte of the buffer.
 */
struct devfile_test_nested_inner {
	unsigned long long buf_ptr;
	unsigned long long len;
};

struct devfile_test_nested {
	unsigned long long inner_ptr;
	unsigned long long result;
};

/* PEEK: value = the 8 bytes at user address addr (copy_from_user). */
struct devfile_test_peek {
	unsigned long long addr;
	unsigned long long value;
};

/*
 * MEET: a barrier shared by every instance, so by every guest that
 * forwards the device. The caller blocks until parties callers (2-16)
 * arrived in this round, or timeout_ms (1-600000) passed (-ETIMEDOUT).
 * A caller whose parties differ from the waiting round's gets -EBUSY.
 * round: out, the number of the round completed (1, 2, ...).
 */
struct devfile_test_meet {
	unsigned int parties;
	unsigned int timeout_ms;
	unsigned long long round;
};

/* MMIO_READ / MMIO_WRITE: 8 bytes at off (8-aligned) of the MMIO region. */
struct devfile_test_mmio {
	unsigned long long off;
	unsigned long long value;
};

/*
 * MOVE: flags DEVFILE_TEST_MOVE_MOVE gives every movable page a new page
 * (contents copied) and zaps every mapping of the region, so that the
 * next access faults the new page in. The old pages are then filled with
 * DEVFILE_TEST_MOVE_MARKER and kept (up to RESET, or 4096 of them). Each
 * MOVE, and DEVFILE_TEST_MOVE_CHECK, which only counts, first counts in
 * stray (and in GET_INFO's stray_bytes) the bytes of every kept page
 * that differ from the marker (written through a mapping that was not
 * zapped) and puts the marker back. Out: moves (since load or RESET),
 * stray, and word0 = the first 8 bytes of movable page 0 after the call.
 */
struct devfile_test_move {
	unsigned long long flags;
	unsigned long long moves;
	unsigned long long stray;
	unsigned long long word0;
};

#define DEVFILE_TEST_MOVE_MOVE 0
#define DEVFILE_TEST_MOVE_CHECK 1

#define DEVFILE_TEST_IOC_MAGIC 'D'
/* Zero the buffer, the MMIO region, the movable pages, the FIFO, the
 * value and the cumulative counters (total_*, reads, writes, ioctls,
 * moves, stray_bytes); free MOVE's old pages. */
#define DEVFILE_TEST_IOC_RESET _IO(DEVFILE_TEST_IOC_MAGIC, 0)
#define DEVFILE_TEST_IOC_GET_INFO \
	_IOR(DEVFILE_TEST_IOC_MAGIC, 1, struct devfile_test_info)
#define DEVFILE_TEST_IOC_SET_VALUE \
	_IOW(DEVFILE_TEST_IOC_MAGIC, 2, unsigned long long)
#define DEVFILE_TEST_IOC_GET_VALUE \
	_IOR(DEVFILE_TEST_IOC_MAGIC, 3, unsigned long long)
#define DEVFILE_TEST_IOC_XOR \
	_IOWR(DEVFILE_TEST_IOC_MAGIC, 4, struct devfile_test_xor)
#define DEVFILE_TEST_IOC_NESTED \
	_IOWR(DEVFILE_TEST_IOC_MAGIC, 5, struct devfile_test_nested)
#define DEVFILE_TEST_IOC_PEEK \
	_IOWR(DEVFILE_TEST_IOC_MAGIC, 6, struct devfile_test_peek)
/* Returns -*arg (1 <= *arg <= 511), else -EINVAL. */
#define DEVFILE_TEST_IOC_FAIL _IOW(DEVFILE_TEST_IOC_MAGIC, 7, int)
/* *arg = DEVFILE_TEST_MODE_*, for this open file. */
#define DEVFILE_TEST_IOC_SET_MODE _IOW(DEVFILE_TEST_IOC_MAGIC, 8, int)
#define DEVFILE_TEST_IOC_MMIO_READ \
	_IOWR(DEVFILE_TEST_IOC_MAGIC, 9, struct devfile_test_mmio)
#define DEVFILE_TEST_IOC_MMIO_WRITE \
	_IOWR(DEVFILE_TEST_IOC_MAGIC, 10, struct devfile_test_mmio)
/* arg by value: returns arg when 0 <= arg <= 0x7fffffff, else -EINVAL. */
#define DEVFILE_TEST_IOC_ECHO _IO(DEVFILE_TEST_IOC_MAGIC, 11)
#define DEVFILE_TEST_IOC_MEET \
	_IOWR(DEVFILE_TEST_IOC_MAGIC, 12, struct devfile_test_meet)
#define DEVFILE_TEST_IOC_MOVE \
	_IOWR(DEVFILE_TEST_IOC_MAGIC, 13, struct devfile_test_move)

#endif
