/* SPDX-License-Identifier: GPL-2.0 */
/*
 * devfile_shim: the interface of the shim module (devfile_shim.ko) for its
 * transports. A transport creates one client per guest, hands each request
 * of that guest to devfile_shim_execute() and carries the client's
 * notifications back to the guest. The loopback transport (in the stub,
 * guest-driver/devfile_stub.c) and the fuzzer (devfile_shim_fuzz.c) look
 * these functions up with symbol_get(), so that they load without the
 * shim and fail cleanly when it is absent. docs/devfile.md has the design.
 */
#ifndef DEVFILE_SHIM_H
#define DEVFILE_SHIM_H

#include <linux/types.h>
#include <devfile/proto.h>

struct mm_struct;
struct notifier_block;
struct devfile_client;

/*
 * A notification for the client's guest. It may be called in atomic
 * context (from a driver's wake-up, under its wait-queue lock, possibly in
 * an interrupt handler), so it must not sleep. It is never called after
 * devfile_shim_client_destroy() returned.
 */
typedef void (*devfile_notify_fn)(void *priv,
				  const struct devfile_note_msg *note);

/* Counters of one client (or of all clients), for tests and debugfs. */
struct devfile_shim_stats {
	long files; /* open handles */
	long inflight; /* requests being executed */
	long mappings; /* live MMAP mappings */
	long pages; /* page references held for mappings */
	long watches; /* files with poll/SIGIO watches on the driver */
	long long ops; /* requests executed since creation */
	long long notes; /* notifications sent since creation */
};

/*
 * Create a client. name is for debugfs and logs; notify (may be NULL)
 * receives its notifications with priv. mirror is the address space in
 * which the shim makes the real mmap of the client's mappings (the
 * "mirror"): the shim takes a reference on it. NULL: the client cannot
 * mmap (MMAP gives -ENODEV). Returns an ERR_PTR on failure.
 */
typedef struct devfile_client *(*devfile_client_create_fn)(
	const char *name, devfile_notify_fn notify, void *priv,
	struct mm_struct *mirror);
struct devfile_client *devfile_shim_client_create(const char *name,
						  devfile_notify_fn notify,
						  void *priv,
						  struct mm_struct *mirror);

/*
 * Destroy a client: close every handle it left open (which unmaps its
 * mappings and removes its watches), wait for its requests in flight,
 * then free it. Nothing of the client is left behind.
 */
typedef void (*devfile_client_destroy_fn)(struct devfile_client *client);
void devfile_shim_client_destroy(struct devfile_client *client);

/*
 * Execute one request of client and fill resp (always: resp->seq echoes
 * req->seq, resp->ret is the result). Returns resp->ret. It runs in the
 * caller's context: user pointers in the request are the current
 * process's (loopback) or the current mirror's (hypercall transport).
 */
typedef long (*devfile_execute_fn)(const struct devfile_req *req,
				   struct devfile_resp *resp,
				   struct devfile_client *client);
long devfile_shim_execute(const struct devfile_req *req,
			  struct devfile_resp *resp,
			  struct devfile_client *client);

/* The counters of client, or of all clients when client is NULL. */
typedef void (*devfile_client_stats_fn)(struct devfile_client *client,
					struct devfile_shim_stats *st);
void devfile_shim_client_stats(struct devfile_client *client,
			       struct devfile_shim_stats *st);

/*
 * Cancel the requests of handle in flight (optional; any context that may
 * take a spinlock, never sleeping): the shim calls it when the handle's
 * export is withdrawn (devices= written), so that a request blocked in
 * the driver returns; it then answers -ENODEV. The hypercall transport
 * signals the server running it; without one, such a request ends when
 * the driver wakes it or its caller is signalled.
 */
typedef void (*devfile_cancel_fn)(void *priv, u64 handle);
typedef void (*devfile_client_set_cancel_fn)(struct devfile_client *client,
					     devfile_cancel_fn cancel);
void devfile_shim_client_set_cancel(struct devfile_client *client,
				    devfile_cancel_fn cancel);

/*
 * Called (process context, no argument) after the list of exports
 * changed and every client got its DEVFILE_NOTE_EXPORTS: for transports
 * that also tell guests that have no client.
 */
/*
 * Zero copy through a hypervisor (the hypercall transport). gmap gives the
 * guest the driver frame of the FAULT being answered, on the thread that
 * runs it, and returns the guest address in *gpa (or -errno); the shim
 * then answers with that address. revoke takes guest addresses that gmap
 * returned back out of the guest, before the driver VM may reuse their
 * frames; the shim calls it from an mmu notifier on the mirror, whenever
 * the driver's mapping of the page goes (munmap, release, a TTM move or
 * eviction), and may hold a spinlock.
 */
struct devfile_zc_ops {
	long (*gmap)(void *priv, u64 frame, unsigned int mt, bool writable,
		     u64 *gpa);
	void (*revoke)(void *priv, u64 gpa, u64 pages);
};

void devfile_shim_client_set_zc(struct devfile_client *client,
				const struct devfile_zc_ops *ops);

int devfile_shim_register_exports_notifier(struct notifier_block *nb);
int devfile_shim_unregister_exports_notifier(struct notifier_block *nb);

#endif
