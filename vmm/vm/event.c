// SPDX-License-Identifier: GPL-2.0
/*
 * Merging a raised exception with an interrupted event (vm/event.h).
 */
#include "vm/event.h"

static bool is_contributory(u32 vector)
{
	/* SDM Table 6-4: #DE #TS #NP #SS #GP. */
	return vector == 0 || (vector >= 10 && vector <= 13);
}

void event_exit(struct event_queue *q, u32 info, u32 err, u32 len)
{
	q->reinject_info = 0;
	if (!(info & EVENT_VALID))
		return;
	q->reinject_info = info & (EVENT_VALID | EVENT_HAS_ERR | 0x7ff);
	q->reinject_err = (info & EVENT_HAS_ERR) ? err : 0;
	q->reinject_len = len;
}

void event_raise(struct event_queue *q, u8 vector, bool has_err, u32 err)
{
	q->raise_info = EVENT_VALID | EVENT_TYPE_EXCEPTION << 8 | vector |
			(has_err ? EVENT_HAS_ERR : 0);
	q->raise_err = has_err ? err : 0;
}

bool event_next(struct event_queue *q, u32 *info, u32 *err, u32 *len)
{
	*info = 0;
	*err = 0;
	*len = 0;
	if (q->raise_info && q->reinject_info &&
	    EVENT_TYPE(q->reinject_info) == EVENT_TYPE_EXCEPTION) {
		u32 first = EVENT_VECTOR(q->reinject_info);
		u32 second = EVENT_VECTOR(q->raise_info);
		bool faulty = is_contributory(second) || second == EVENT_VEC_PF;

		/* The first exception's instruction runs again (serially). */
		q->reinject_info = 0;
		if (first == EVENT_VEC_DF && faulty) {
			q->raise_info = 0;
			return false;
		}
		if ((is_contributory(first) && is_contributory(second)) ||
		    (first == EVENT_VEC_PF && faulty)) {
			/* #DF's error code is always 0 (SDM 6.15). */
			q->raise_info = EVENT_VALID | EVENT_HAS_ERR |
					EVENT_TYPE_EXCEPTION << 8 |
					EVENT_VEC_DF;
			q->raise_err = 0;
		}
	}
	if (q->raise_info && q->reinject_info) {
		u32 type = EVENT_TYPE(q->reinject_info);

		/*
		 * An interrupt or NMI was acknowledged already: it goes in
		 * after the exception. A software interrupt's RIP is still
		 * its instruction (SDM 28.2.4), which runs again.
		 */
		if ((type == EVENT_TYPE_INTR || type == EVENT_TYPE_NMI) &&
		    !q->wait_info) {
			q->wait_info = q->reinject_info;
			q->wait_err = q->reinject_err;
		}
		q->reinject_info = 0;
	}
	if (q->raise_info) {
		*info = q->raise_info;
		*err = q->raise_err;
		q->raise_info = 0;
	} else if (q->reinject_info) {
		*info = q->reinject_info;
		*err = q->reinject_err;
		*len = q->reinject_len;
		q->reinject_info = 0;
	} else if (q->wait_info) {
		*info = q->wait_info;
		*err = q->wait_err;
		q->wait_info = 0;
	}
	return true;
}
