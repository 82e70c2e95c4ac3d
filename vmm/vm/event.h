/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The event a vCPU gets on its next entry: an exception the core raised
 * and an event whose delivery an exit cut short, merged by the x86 rules.
 * VMX and SVM encode an event the same way (SDM 25.8.3 VM-entry
 * interruption information, APM 15.20 EVENTINJ): vector in bits 7:0, type
 * in 10:8, "error code valid" in 11, valid in 31. Pure: unit-tested natively
 * (tests/unit/test_event.c).
 */
#ifndef DEVIRT_EVENT_H
#define DEVIRT_EVENT_H

#include <devirt/types.h>

#define EVENT_VECTOR(i) ((i)&0xff)
#define EVENT_TYPE(i) (((i) >> 8) & 7)
#define EVENT_HAS_ERR (1u << 11)
#define EVENT_VALID (1u << 31)
/* Types both vendors share (SDM Table 25-17, APM 15.20). */
#define EVENT_TYPE_INTR 0
#define EVENT_TYPE_NMI 2
#define EVENT_TYPE_EXCEPTION 3
#define EVENT_TYPE_SOFT_INTR 4

#define EVENT_VEC_DF 8
#define EVENT_VEC_PF 14

struct event_queue {
	/* Cut short by the last exit (SDM 28.2.4 IDT-vectoring, APM 15.7.2). */
	u32 reinject_info, reinject_err, reinject_len;
	/* An interrupt or NMI cut short earlier, behind a raised exception. */
	u32 wait_info, wait_err;
	/* Raised by the core since then (inject_exception). */
	u32 raise_info, raise_err;
	/* The merge gave a fault while delivering #DF: the VM must stop. */
	bool shutdown;
};

/*
 * After an exit: remember the event whose delivery it interrupted (@info
 * without EVENT_VALID: none). A waiting interrupt stays queued.
 */
void event_exit(struct event_queue *q, u32 info, u32 err, u32 len);

/*
 * The core raises exception @vector (with @err when @has_err). Only the
 * last one raised before the next entry counts: handlers raise at most one.
 */
void event_raise(struct event_queue *q, u8 vector, bool has_err, u32 err);

/*
 * The event for the next entry, merged (SDM 6.15 Table 6-5 "Conditions for
 * generating a double fault", APM 8.2.9): in *info (0: none), *err, *len.
 * An interrupted interrupt or NMI waits behind a raised exception for a
 * later entry, rather than being lost. Returns false when the merge is a
 * shutdown (a contributory fault or #PF while delivering #DF, SDM 6.15
 * "Interrupt 8"): the caller stops the VM.
 */
bool event_next(struct event_queue *q, u32 *info, u32 *err, u32 *len);

#endif
