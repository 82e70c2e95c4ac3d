// SPDX-License-Identifier: GPL-2.0
/*
 * The next entry's event (vmm/vm/event.c): a raised exception merged with
 * the event an exit cut short, by SDM 6.15 Table 6-5. Both back ends use
 * it, so SVM no longer overwrites EXITINTINFO's event with a raised one.
 */
#include "vm/event.h"
#include "unit.h"

#define EXC(v) (EVENT_VALID | EVENT_TYPE_EXCEPTION << 8 | (v))
#define EXC_ERR(v) (EXC(v) | EVENT_HAS_ERR)
#define INTR(v) (EVENT_VALID | EVENT_TYPE_INTR << 8 | (v))
#define NMI (EVENT_VALID | EVENT_TYPE_NMI << 8 | 2)
#define SOFT(v) (EVENT_VALID | EVENT_TYPE_SOFT_INTR << 8 | (v))

struct ev {
	u32 info, err, len;
	bool ok;
};

static struct ev next(struct event_queue *q)
{
	struct ev e;

	e.ok = event_next(q, &e.info, &e.err, &e.len);
	return e;
}

/* An exit that cut @first short, then the core raising @second. */
static struct ev merge(u32 first, u32 first_err, u8 second, u32 second_err)
{
	struct event_queue q = { 0 };

	event_exit(&q, first, first_err, 0);
	event_raise(&q, second, true, second_err);
	return next(&q);
}

static void test_nothing(void)
{
	struct event_queue q = { 0 };
	struct ev e;

	event_exit(&q, 0, 0, 0);
	e = next(&q);
	CHECK(e.ok);
	CHECK_EQ(e.info, 0);
	/* Bits of an invalid exit info are not an event. */
	event_exit(&q, 0x7fffffff, 5, 3);
	CHECK_EQ(next(&q).info, 0);
}

static void test_reinject_alone(void)
{
	struct event_queue q = { 0 };
	struct ev e;

	/* Reserved bits 30:12 of the exit's info are dropped. */
	event_exit(&q, EXC_ERR(14) | 0x7ffff000u, 0x6, 0);
	e = next(&q);
	CHECK_EQ(e.info, EXC_ERR(14));
	CHECK_EQ(e.err, 0x6);
	CHECK_EQ(next(&q).info, 0);

	event_exit(&q, SOFT(0x80), 0, 2);
	e = next(&q);
	CHECK_EQ(e.info, SOFT(0x80));
	CHECK_EQ(e.len, 2);
	/* No error code valid bit: the exit's error field is ignored. */
	event_exit(&q, INTR(0x30), 0xdead, 0);
	e = next(&q);
	CHECK_EQ(e.info, INTR(0x30));
	CHECK_EQ(e.err, 0);
}

static void test_raise_alone(void)
{
	struct event_queue q = { 0 };
	struct ev e;

	event_raise(&q, 13, true, 0x18);
	e = next(&q);
	CHECK_EQ(e.info, EXC_ERR(13));
	CHECK_EQ(e.err, 0x18);
	event_raise(&q, 6, false, 0x55);
	e = next(&q);
	CHECK_EQ(e.info, EXC(6));
	CHECK_EQ(e.err, 0);
	CHECK_EQ(next(&q).info, 0);
}

/* The bug: SVM's raise overwrote EXITINTINFO's interrupt, which was lost. */
static void test_interrupt_waits_behind_exception(void)
{
	struct event_queue q = { 0 };
	struct ev e;

	event_exit(&q, INTR(0xec), 0, 0);
	event_raise(&q, 13, true, 0);
	e = next(&q);
	CHECK_EQ(e.info, EXC_ERR(13));
	/* The next exit cut nothing short: the interrupt comes now. */
	event_exit(&q, 0, 0, 0);
	e = next(&q);
	CHECK_EQ(e.info, INTR(0xec));
	CHECK_EQ(next(&q).info, 0);

	event_exit(&q, NMI, 0, 0);
	event_raise(&q, 6, false, 0);
	CHECK_EQ(next(&q).info, EXC(6));
	CHECK_EQ(next(&q).info, NMI);
	CHECK_EQ(next(&q).info, 0);

	/* A waiting interrupt comes after one another exit cut short. */
	event_exit(&q, INTR(0x41), 0, 0);
	event_raise(&q, 13, true, 0);
	CHECK_EQ(next(&q).info, EXC_ERR(13));
	event_exit(&q, EXC_ERR(14), 2, 0);
	CHECK_EQ(next(&q).info, EXC_ERR(14));
	CHECK_EQ(next(&q).info, INTR(0x41));
}

static void test_soft_interrupt_runs_again(void)
{
	struct event_queue q = { 0 };

	event_exit(&q, SOFT(0x80), 0, 2);
	event_raise(&q, 13, true, 0);
	CHECK_EQ(next(&q).info, EXC_ERR(13));
	CHECK_EQ(next(&q).info, 0);
}

/* Every pair of exceptions against Table 6-5. */
static void test_double_fault_table(void)
{
	static const u8 contributory[] = { 0, 10, 11, 12, 13 };
	static const u8 benign[] = { 1, 2, 3, 4, 5, 6, 7, 9, 16, 17, 18, 19 };
	u32 i, j;

	for (i = 0; i < sizeof(contributory); i++) {
		for (j = 0; j < sizeof(contributory); j++) {
			struct ev e = merge(EXC_ERR(contributory[i]), 1,
					    contributory[j], 7);

			CHECK(e.ok);
			CHECK_EQ(e.info, EXC_ERR(8));
			CHECK_EQ(e.err, 0);
		}
		/* Contributory then #PF: serially, the #PF. */
		CHECK_EQ(merge(EXC_ERR(contributory[i]), 0, 14, 2).info,
			 EXC_ERR(14));
		/* #PF then contributory: #DF. */
		CHECK_EQ(merge(EXC_ERR(14), 2, contributory[i], 0).info,
			 EXC_ERR(8));
		/* #DF then contributory: shutdown. */
		CHECK(!merge(EXC_ERR(8), 0, contributory[i], 0).ok);
		for (j = 0; j < sizeof(benign); j++) {
			struct ev e =
				merge(EXC(benign[j]), 0, contributory[i], 4);

			CHECK_EQ(e.info, EXC_ERR(contributory[i]));
			CHECK_EQ(e.err, 4);
			e = merge(EXC_ERR(contributory[i]), 0, benign[j], 0);
			CHECK_EQ(e.info, EXC_ERR(benign[j]));
		}
	}
	CHECK_EQ(merge(EXC_ERR(14), 2, 14, 3).info, EXC_ERR(8));
	CHECK(!merge(EXC_ERR(8), 0, 14, 3).ok);
	/* #DF then a benign exception: serial. */
	CHECK(merge(EXC_ERR(8), 0, 1, 0).ok);
	CHECK_EQ(merge(EXC_ERR(8), 0, 1, 0).info, EXC_ERR(1));
}

/* After a shutdown nothing is left to inject. */
static void test_shutdown_clears(void)
{
	struct event_queue q = { 0 };

	event_exit(&q, EXC_ERR(8), 0, 0);
	event_raise(&q, 13, true, 0);
	CHECK(!next(&q).ok);
	CHECK_EQ(next(&q).info, 0);
}

int main(void)
{
	test_nothing();
	test_reinject_alone();
	test_raise_alone();
	test_interrupt_waits_behind_exception();
	test_soft_interrupt_runs_again();
	test_double_fault_table();
	test_shutdown_clears();
	return unit_done();
}
