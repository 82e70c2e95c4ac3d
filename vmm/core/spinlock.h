/* SPDX-License-Identifier: GPL-2.0 */
#ifndef DEVIRT_SPINLOCK_H
#define DEVIRT_SPINLOCK_H

#include <devirt/types.h>

typedef struct {
	volatile u32 locked;
} spinlock_t;

static inline void spin_init(spinlock_t *l)
{
	l->locked = 0;
}

static inline void spin_lock(spinlock_t *l)
{
	while (__atomic_exchange_n(&l->locked, 1, __ATOMIC_ACQUIRE))
		while (l->locked)
			asm volatile("pause");
}

static inline void spin_unlock(spinlock_t *l)
{
	__atomic_store_n(&l->locked, 0, __ATOMIC_RELEASE);
}

#endif
