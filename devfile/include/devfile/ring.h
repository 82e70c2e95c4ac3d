/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The request ring between the hypervisor and the shim in the driver VM
 * (hypercall transport; docs/devfile.md). The shim allocates it in its own
 * memory, physically contiguous, and hands it over with
 * DEVIRT_HC_DEVFILE_ATTACH. The hypervisor copies each guest request into
 * a free slot, notifies the driver VM with the shim's vector, and waits
 * for the slot to be done; the shim runs the operation in the requesting
 * guest's mirror and completes it with DEVIRT_HC_DEVFILE_COMPLETE, or,
 * when it mapped no window page for it (nothing to revoke) and the guest
 * still spins, by setting the state to DONE itself: no exit.
 *
 * The slot's state is the only field both sides write. The driver VM can
 * write anything into the ring: the hypervisor copies what it needs out
 * and checks it (it never trusts the ring for where guest memory is).
 */
#ifndef DEVFILE_RING_H
#define DEVFILE_RING_H

#include "proto.h"

#define DEVFILE_RING_MAGIC 0x474e5244u /* "DRNG" */
#define DEVFILE_RING_SLOTS 32

enum devfile_slot_state {
	DEVFILE_SLOT_FREE = 0,
	DEVFILE_SLOT_FILLING = 1, /* the hypervisor is writing the request */
	DEVFILE_SLOT_SUBMITTED = 2, /* for the shim to take */
	DEVFILE_SLOT_TAKEN = 3, /* the shim runs it */
	DEVFILE_SLOT_DONE = 4, /* resp is final (set by the shim, see above) */
};

/*
 * Or-ed into the state by the hypervisor when the guest stops spinning
 * and will sleep until interrupted: the shim must then COMPLETE (its
 * compare-and-exchange from TAKEN to DONE fails), and keeps the flag
 * when it takes a request.
 */
#define DEVFILE_SLOT_ASYNC 0x100u

struct devfile_slot {
	unsigned int state; /* enum devfile_slot_state */
	unsigned int vm_id; /* the requesting VM */
	/* Identifies the requesting process: its page-table root. */
	unsigned long long mm_key;
	/*
	 * Set by the hypervisor while the guest faults in a page the driver
	 * needs (DEVFILE_FAULTIN: address | 1 for write | 2), cleared when
	 * the guest resumes the request.
	 */
	unsigned long long fault_va;
	/* Set by the hypervisor when the guest gave up (its caller died). */
	unsigned int cancel;
	unsigned int pad;
	struct devfile_req req;
	struct devfile_resp resp;
};

struct devfile_ring {
	unsigned int magic; /* DEVFILE_RING_MAGIC, set by the shim */
	unsigned int nr_slots; /* DEVFILE_RING_SLOTS */
	unsigned int vector; /* the shim's interrupt vector */
	/*
	 * Servers of the shim polling the ring now: while it is not 0 the
	 * hypervisor sends no interrupt for a new request. Only the shim
	 * writes it; a wrong value only delays the driver VM's own work.
	 */
	unsigned int polling;
	/*
	 * Bit n set by the hypervisor when user guest n stopped: its
	 * requests are cancelled or freed, and the shim drops its client
	 * (files, mappings). The shim clears the bits it has seen.
	 */
	unsigned int gone;
	unsigned int pad;
	/*
	 * Filled by the hypervisor at attach: the driver-physical window
	 * where guest pages appear during an operation (DEVFILE_MAP), the
	 * region the shim passed to DEVFILE_ATTACH.
	 */
	unsigned long long window_base;
	unsigned long long window_pages_per_slot;
	struct devfile_slot slot[DEVFILE_RING_SLOTS];
};

#endif
