// SPDX-License-Identifier: GPL-2.0
/*
 * devfile_testdev - a character device that exercises every file
 * operation, for testing device-file forwarding (issue 4). It runs in the
 * driver VM; tests/guest/devfile_suite.c drives it, natively or through a
 * user guest's stub. The interface is in devfile_testdev.h and
 * docs/devfile-testdev.md.
 *
 *   insmod devfile_testdev.ko      -> /dev/devfile_test (misc, mode 0666)
 *
 *   insmod devfile_testdev.ko instances=2  -> also /dev/devfile_test1
 *
 * Each instance has its own state, which all its open files share except
 * each file's mode (buffer or pipe):
 *   - a data buffer of DEVFILE_TEST_BUF_SIZE bytes (vmalloc_user): read,
 *     write and llseek at the file position in buffer mode; mmap regions
 *     RAM_FAULT and RAM_UPFRONT;
 *   - a FIFO of DEVFILE_TEST_FIFO_SIZE bytes: read and write in pipe mode,
 *     poll, fasync (SIGIO);
 *   - an "MMIO-like" region of DEVFILE_TEST_MMIO_SIZE bytes of physically
 *     contiguous pages, uncached: mmap regions MMIO_UPFRONT and
 *     MMIO_FAULT, ioctls MMIO_READ and MMIO_WRITE;
 *   - DEVFILE_TEST_MOVABLE_PAGES movable pages: mmap region MOVABLE
 *     (PFNMAP, inserted on fault, as TTM maps a buffer object), which
 *     the MOVE ioctl replaces by new pages, zapping every mapping, as
 *     TTM moves or evicts the object;
 *   - a value (SET_VALUE/GET_VALUE) and counters (GET_INFO).
 *
 * All input is checked: the device is meant to be driven by hostile and
 * fuzzed callers. User memory is only reached through copy_{from,to}_user.
 */
#define pr_fmt(fmt) "devfile_testdev: " fmt

#include <linux/module.h>
#include <linux/kernel.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/vmalloc.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/poll.h>
#include <linux/wait.h>
#include <linux/mutex.h>
#include <linux/atomic.h>
#include <linux/sched/signal.h>
#include <linux/highmem.h>
#include <linux/list.h>
#include <asm/set_memory.h>

#include "devfile_testdev.h"

#define MMIO_ORDER 4 /* 16 pages */
#define MMIO_PAGES (1UL << MMIO_ORDER)
#define REGION_SHIFT 30
#define MAX_MAP_OFFSET (1ULL << 32)

static_assert(DEVFILE_TEST_MMIO_SIZE == MMIO_PAGES * PAGE_SIZE);
static_assert(DEVFILE_TEST_BUF_SIZE % PAGE_SIZE == 0);
static_assert(sizeof(struct devfile_test_info) == 17 * 8);
static_assert(DEVFILE_TEST_MAP_MOVABLE >= DEVFILE_TEST_BUF_SIZE);

#define MOV_PAGES DEVFILE_TEST_MOVABLE_PAGES
#define MOV_PGOFF (DEVFILE_TEST_MAP_MOVABLE >> PAGE_SHIFT)
#define MOV_SIZE (MOV_PAGES * PAGE_SIZE)
/* Replaced pages kept (not freed, still checked) before MOVE frees them. */
#define MOV_RETIRED_MAX 4096

#define MAX_INSTANCES 8

/*
 * One device instance: /dev/devfile_test, /dev/devfile_test1, ... Each has
 * its own buffer, FIFO, MMIO region and counters, so that two guests can
 * each run the suite on an instance of their own at the same time.
 */
struct dt_dev {
	struct miscdevice misc;
	char name[24];
	u8 *buf; /* DEVFILE_TEST_BUF_SIZE, vmalloc_user */
	struct page *mmio_page; /* MMIO_PAGES contiguous pages */
	u8 *mmio; /* their kernel address */
	bool mmio_uc; /* set_memory_uc succeeded */
	atomic64_t value;

	/*
	 * The movable pages. mov_lock plays TTM's reservation lock: MOVE
	 * holds it across the swap and the zap, and a fault inserts a page
	 * under it, so that no fault inserts a page MOVE already replaced.
	 * grave: the pages the last MOVE replaced, filled with the marker,
	 * checked by the next. Older ones wait on retired (page->lru), so
	 * that a write through a mapping a broken forwarding failed to
	 * revoke lands in a page nobody else uses: a FAIL, not a driver VM
	 * whose memory was overwritten.
	 */
	struct mutex mov_lock;
	struct page *mov[MOV_PAGES];
	struct page *grave[MOV_PAGES];
	struct list_head retired;
	unsigned long nr_retired;

	/* The FIFO: a ring, its mutex, the readers' and pollers' queue. */
	u8 *fifo;
	size_t fifo_head; /* next byte to read */
	size_t fifo_len; /* bytes in the ring; written under fifo_lock */
	struct mutex fifo_lock;
	wait_queue_head_t fifo_wq;
	struct fasync_struct *async_queue;

	struct {
		atomic64_t open_files;
		atomic64_t total_opens;
		atomic64_t total_releases;
		atomic64_t reads;
		atomic64_t writes;
		atomic64_t ioctls;
		atomic64_t active_mmaps;
		atomic64_t mapped_pages;
		atomic64_t fasync;
		atomic64_t blocked_readers;
		atomic64_t moves;
		atomic64_t stray_bytes;
	} cnt;
};

/* Per open file. */
struct dt_file {
	struct dt_dev *d;
	int mode; /* DEVFILE_TEST_MODE_* */
};

static unsigned int instances = 1;
module_param(instances, uint, 0444);
MODULE_PARM_DESC(instances,
		 "device instances (1-8): devfile_test, devfile_test1, ...");

static struct dt_dev *dt_devs[MAX_INSTANCES];

/*
 * MEET, shared by all instances: a barrier across callers, and so across
 * guests. The first caller of a round sets its size.
 */
static DEFINE_MUTEX(meet_lock);
static DECLARE_WAIT_QUEUE_HEAD(meet_wq);
static u32 meet_parties, meet_arrived;
static u64 meet_round;
static atomic64_t meet_waiting;

static int dt_open(struct inode *inode, struct file *file)
{
	struct dt_dev *d =
		container_of(file->private_data, struct dt_dev, misc);
	struct dt_file *df;

	df = kzalloc(sizeof(*df), GFP_KERNEL);
	if (!df)
		return -ENOMEM;
	df->d = d;
	df->mode = DEVFILE_TEST_MODE_BUFFER;
	/* misc_open set private_data to the miscdevice; replace it. */
	file->private_data = df;
	atomic64_inc(&d->cnt.open_files);
	atomic64_inc(&d->cnt.total_opens);
	return 0;
}

static struct dt_dev *dt_of(struct file *file)
{
	return ((struct dt_file *)file->private_data)->d;
}

static int dt_release(struct inode *inode, struct file *file)
{
	struct dt_dev *d = dt_of(file);

	/* The VFS already removed a fasync registration (->fasync(-1, 0)). */
	kfree(file->private_data);
	file->private_data = NULL;
	atomic64_dec(&d->cnt.open_files);
	atomic64_inc(&d->cnt.total_releases);
	return 0;
}

static int dt_mode(struct file *file)
{
	struct dt_file *df = file->private_data;

	return READ_ONCE(df->mode);
}

/* ---- buffer mode ---------------------------------------------------- */

static ssize_t buf_read(struct dt_dev *d, char __user *ubuf, size_t count,
			loff_t *ppos)
{
	loff_t pos = *ppos;
	size_t left;

	if (pos < 0)
		return -EINVAL;
	if (pos >= DEVFILE_TEST_BUF_SIZE || !count)
		return 0;
	count = min_t(size_t, count, DEVFILE_TEST_BUF_SIZE - pos);
	left = copy_to_user(ubuf, d->buf + pos, count);
	if (left == count)
		return -EFAULT;
	count -= left;
	*ppos = pos + count;
	return count;
}

static ssize_t buf_write(struct dt_dev *d, const char __user *ubuf,
			 size_t count, loff_t *ppos)
{
	loff_t pos = *ppos;
	size_t left;

	if (pos < 0)
		return -EINVAL;
	if (!count)
		return 0;
	if (pos >= DEVFILE_TEST_BUF_SIZE)
		return -ENOSPC;
	count = min_t(size_t, count, DEVFILE_TEST_BUF_SIZE - pos);
	left = copy_from_user(d->buf + pos, ubuf, count);
	if (left == count)
		return -EFAULT;
	count -= left;
	*ppos = pos + count;
	return count;
}

/* ---- pipe mode -------------------------------------------------------- */

static bool fifo_nonempty(struct dt_dev *d)
{
	return READ_ONCE(d->fifo_len) != 0;
}

/* Copy up to count bytes out of the FIFO; d->fifo_lock held. */
static ssize_t fifo_take(struct dt_dev *d, char __user *ubuf, size_t count)
{
	size_t done = 0;

	count = min(count, d->fifo_len);
	while (done < count) {
		size_t seg = min(count - done,
				 DEVFILE_TEST_FIFO_SIZE - d->fifo_head);
		size_t left =
			copy_to_user(ubuf + done, d->fifo + d->fifo_head, seg);

		seg -= left;
		done += seg;
		d->fifo_head = (d->fifo_head + seg) % DEVFILE_TEST_FIFO_SIZE;
		WRITE_ONCE(d->fifo_len, d->fifo_len - seg);
		if (left)
			break;
	}
	if (!d->fifo_len)
		d->fifo_head = 0;
	return done ? done : -EFAULT;
}

static ssize_t pipe_read(struct file *file, char __user *ubuf, size_t count)
{
	struct dt_dev *d = dt_of(file);
	ssize_t ret;

	if (!count)
		return 0;
	for (;;) {
		if (mutex_lock_interruptible(&d->fifo_lock))
			return -ERESTARTSYS;
		if (d->fifo_len)
			break;
		mutex_unlock(&d->fifo_lock);
		if (file->f_flags & O_NONBLOCK)
			return -EAGAIN;
		atomic64_inc(&d->cnt.blocked_readers);
		ret = wait_event_interruptible(d->fifo_wq, fifo_nonempty(d));
		atomic64_dec(&d->cnt.blocked_readers);
		if (ret)
			return ret;
	}
	ret = fifo_take(d, ubuf, count);
	mutex_unlock(&d->fifo_lock);
	return ret;
}

static ssize_t pipe_write(struct dt_dev *d, const char __user *ubuf,
			  size_t count)
{
	size_t done = 0, space, tail;

	if (!count)
		return 0;
	if (mutex_lock_interruptible(&d->fifo_lock))
		return -ERESTARTSYS;
	space = DEVFILE_TEST_FIFO_SIZE - d->fifo_len;
	if (!space) {
		mutex_unlock(&d->fifo_lock);
		return -EAGAIN;
	}
	count = min(count, space);
	while (done < count) {
		size_t seg, left;

		tail = (d->fifo_head + d->fifo_len) % DEVFILE_TEST_FIFO_SIZE;
		seg = min(count - done, DEVFILE_TEST_FIFO_SIZE - tail);
		left = copy_from_user(d->fifo + tail, ubuf + done, seg);
		seg -= left;
		done += seg;
		WRITE_ONCE(d->fifo_len, d->fifo_len + seg);
		if (left)
			break;
	}
	mutex_unlock(&d->fifo_lock);
	if (!done)
		return -EFAULT;
	wake_up_interruptible_poll(&d->fifo_wq, EPOLLIN | EPOLLRDNORM);
	kill_fasync(&d->async_queue, SIGIO, POLL_IN);
	return done;
}

/* Interruptible: a reader may hold the lock while its copy waits. */
static int fifo_reset(struct dt_dev *d)
{
	if (mutex_lock_interruptible(&d->fifo_lock))
		return -ERESTARTSYS;
	d->fifo_head = 0;
	WRITE_ONCE(d->fifo_len, 0);
	mutex_unlock(&d->fifo_lock);
	return 0;
}

/* ---- file operations ---------------------------------------------------- */

static ssize_t dt_read(struct file *file, char __user *ubuf, size_t count,
		       loff_t *ppos)
{
	struct dt_dev *d = dt_of(file);

	atomic64_inc(&d->cnt.reads);
	if (dt_mode(file) == DEVFILE_TEST_MODE_PIPE)
		return pipe_read(file, ubuf, count);
	return buf_read(d, ubuf, count, ppos);
}

static ssize_t dt_write(struct file *file, const char __user *ubuf,
			size_t count, loff_t *ppos)
{
	struct dt_dev *d = dt_of(file);

	atomic64_inc(&d->cnt.writes);
	if (dt_mode(file) == DEVFILE_TEST_MODE_PIPE)
		return pipe_write(d, ubuf, count);
	return buf_write(d, ubuf, count, ppos);
}

static loff_t dt_llseek(struct file *file, loff_t off, int whence)
{
	loff_t base, pos;

	switch (whence) {
	case SEEK_SET:
		base = 0;
		break;
	case SEEK_CUR:
		base = file->f_pos;
		break;
	case SEEK_END:
		base = DEVFILE_TEST_BUF_SIZE;
		break;
	default:
		return -EINVAL;
	}
	if (check_add_overflow(base, off, &pos) || pos < 0)
		return -EINVAL;
	file->f_pos = pos;
	return pos;
}

static __poll_t dt_poll(struct file *file, poll_table *wait)
{
	struct dt_dev *d = dt_of(file);
	__poll_t mask = EPOLLOUT | EPOLLWRNORM;

	poll_wait(file, &d->fifo_wq, wait);
	if (dt_mode(file) == DEVFILE_TEST_MODE_PIPE && fifo_nonempty(d))
		mask |= EPOLLIN | EPOLLRDNORM;
	return mask;
}

static int dt_fasync(int fd, struct file *file, int on)
{
	struct dt_dev *d = dt_of(file);
	int ret = fasync_helper(fd, file, on, &d->async_queue);

	/* 1: an entry was added (on) or removed (off); 0: no change. */
	if (ret > 0) {
		if (on)
			atomic64_inc(&d->cnt.fasync);
		else
			atomic64_dec(&d->cnt.fasync);
	}
	return ret < 0 ? ret : 0;
}

/* ---- movable pages ------------------------------------------------------- */

/*
 * Bytes of a replaced page that no longer hold the marker. The page gets
 * the marker back, so that each stray write is counted once.
 */
static u64 page_stray(struct page *page)
{
	u8 *p = kmap_local_page(page);
	u64 n = 0;
	int j;

	for (j = 0; j < PAGE_SIZE; j++)
		n += p[j] != DEVFILE_TEST_MOVE_MARKER;
	if (n)
		memset(p, DEVFILE_TEST_MOVE_MARKER, PAGE_SIZE);
	kunmap_local(p);
	return n;
}

/*
 * Stray bytes in every replaced page kept, not only the last move's: a
 * mapping left on an older frame keeps writing there. mov_lock held.
 */
static u64 mov_stray(struct dt_dev *d)
{
	struct page *page;
	u64 n = 0;
	int i;

	for (i = 0; i < MOV_PAGES; i++)
		if (d->grave[i])
			n += page_stray(d->grave[i]);
	list_for_each_entry(page, &d->retired, lru)
		n += page_stray(page);
	return n;
}

static void mov_free_retired(struct dt_dev *d)
{
	struct page *page;

	while (!list_empty(&d->retired)) {
		page = list_first_entry(&d->retired, struct page, lru);
		list_del(&page->lru);
		__free_page(page);
	}
	d->nr_retired = 0;
}

/* Move the graveyard to the retired pages; mov_lock held. */
static void mov_retire(struct dt_dev *d)
{
	int i;

	if (d->nr_retired + MOV_PAGES > MOV_RETIRED_MAX)
		mov_free_retired(d);
	for (i = 0; i < MOV_PAGES; i++) {
		if (!d->grave[i])
			continue;
		list_add_tail(&d->grave[i]->lru, &d->retired);
		d->nr_retired++;
		d->grave[i] = NULL;
	}
}

/*
 * MOVE, as TTM moves a buffer object under its reservation lock: zap
 * every mapping of the region first (in the driver VM this includes the
 * shim's mirror of each guest process, whose notifier must take the old
 * frames away from the guest before this returns), then copy each page
 * into a new one and swap it in. A write before the zap is in the copy;
 * none after it may reach an old page, which the marker then fills as
 * its new owner's data.
 */
static long ioc_move(struct dt_dev *d, struct file *file, void __user *argp)
{
	struct page *fresh[MOV_PAGES];
	struct devfile_test_move m;
	u64 *w;
	int i;

	if (copy_from_user(&m, argp, sizeof(m)))
		return -EFAULT;
	if (m.flags != DEVFILE_TEST_MOVE_MOVE &&
	    m.flags != DEVFILE_TEST_MOVE_CHECK)
		return -EINVAL;
	if (m.flags == DEVFILE_TEST_MOVE_MOVE) {
		for (i = 0; i < MOV_PAGES; i++) {
			fresh[i] = alloc_page(GFP_KERNEL);
			if (!fresh[i]) {
				while (i--)
					__free_page(fresh[i]);
				return -ENOMEM;
			}
		}
	}
	if (mutex_lock_interruptible(&d->mov_lock)) {
		if (m.flags == DEVFILE_TEST_MOVE_MOVE)
			for (i = 0; i < MOV_PAGES; i++)
				__free_page(fresh[i]);
		return -ERESTARTSYS;
	}
	m.stray = mov_stray(d);
	atomic64_add(m.stray, &d->cnt.stray_bytes);
	if (m.flags == DEVFILE_TEST_MOVE_MOVE) {
		mov_retire(d);
		unmap_mapping_range(file->f_mapping, DEVFILE_TEST_MAP_MOVABLE,
				    MOV_SIZE, 1);
		for (i = 0; i < MOV_PAGES; i++) {
			copy_highpage(fresh[i], d->mov[i]);
			d->grave[i] = d->mov[i];
			d->mov[i] = fresh[i];
			w = kmap_local_page(d->grave[i]);
			memset(w, DEVFILE_TEST_MOVE_MARKER, PAGE_SIZE);
			kunmap_local(w);
		}
		atomic64_inc(&d->cnt.moves);
	}
	w = kmap_local_page(d->mov[0]);
	m.word0 = READ_ONCE(w[0]);
	kunmap_local(w);
	m.moves = atomic64_read(&d->cnt.moves);
	mutex_unlock(&d->mov_lock);
	return copy_to_user(argp, &m, sizeof(m)) ? -EFAULT : 0;
}

/* Zero the movable pages in place and free the replaced ones. */
static int mov_reset(struct dt_dev *d)
{
	int i;

	if (mutex_lock_interruptible(&d->mov_lock))
		return -ERESTARTSYS;
	for (i = 0; i < MOV_PAGES; i++) {
		clear_highpage(d->mov[i]);
		if (d->grave[i])
			__free_page(d->grave[i]);
		d->grave[i] = NULL;
	}
	mov_free_retired(d);
	atomic64_set(&d->cnt.moves, 0);
	atomic64_set(&d->cnt.stray_bytes, 0);
	mutex_unlock(&d->mov_lock);
	return 0;
}

/* ---- ioctls ------------------------------------------------------------- */

static int dt_reset(struct dt_dev *d)
{
	if (fifo_reset(d) || mov_reset(d))
		return -ERESTARTSYS;
	memset(d->buf, 0, DEVFILE_TEST_BUF_SIZE);
	memset(d->mmio, 0, DEVFILE_TEST_MMIO_SIZE);
	atomic64_set(&d->value, 0);
	atomic64_set(&d->cnt.total_opens, 0);
	atomic64_set(&d->cnt.total_releases, 0);
	atomic64_set(&d->cnt.reads, 0);
	atomic64_set(&d->cnt.writes, 0);
	atomic64_set(&d->cnt.ioctls, 0);
	return 0;
}

static long ioc_get_info(struct dt_dev *d, void __user *argp)
{
	struct devfile_test_info info;

	memset(&info, 0, sizeof(info));
	info.open_files = atomic64_read(&d->cnt.open_files);
	info.total_opens = atomic64_read(&d->cnt.total_opens);
	info.total_releases = atomic64_read(&d->cnt.total_releases);
	info.reads = atomic64_read(&d->cnt.reads);
	info.writes = atomic64_read(&d->cnt.writes);
	info.ioctls = atomic64_read(&d->cnt.ioctls);
	info.active_mmaps = atomic64_read(&d->cnt.active_mmaps);
	info.mapped_pages = atomic64_read(&d->cnt.mapped_pages);
	info.fasync = atomic64_read(&d->cnt.fasync);
	info.blocked_readers = atomic64_read(&d->cnt.blocked_readers);
	info.fifo_bytes = READ_ONCE(d->fifo_len);
	info.buf_size = DEVFILE_TEST_BUF_SIZE;
	info.mmio_size = DEVFILE_TEST_MMIO_SIZE;
	info.mmio_uc = d->mmio_uc;
	info.meet_waiting = atomic64_read(&meet_waiting);
	info.moves = atomic64_read(&d->cnt.moves);
	info.stray_bytes = atomic64_read(&d->cnt.stray_bytes);
	return copy_to_user(argp, &info, sizeof(info)) ? -EFAULT : 0;
}

static long ioc_nested(void __user *argp)
{
	struct devfile_test_nested outer;
	struct devfile_test_nested_inner inner;
	void __user *ubuf;
	u64 sum = 0;
	size_t i;
	u8 *kbuf;
	long ret = 0;

	if (copy_from_user(&outer, argp, sizeof(outer)))
		return -EFAULT;
	if (copy_from_user(&inner, u64_to_user_ptr(outer.inner_ptr),
			   sizeof(inner)))
		return -EFAULT;
	if (inner.len > DEVFILE_TEST_NESTED_MAX)
		return -EINVAL;
	ubuf = u64_to_user_ptr(inner.buf_ptr);
	kbuf = kvmalloc(inner.len ? inner.len : 1, GFP_KERNEL);
	if (!kbuf)
		return -ENOMEM;
	if (copy_from_user(kbuf, ubuf, inner.len)) {
		ret = -EFAULT;
		goto out;
	}
	for (i = 0; i < inner.len; i++) {
		sum += kbuf[i];
		kbuf[i]++;
	}
	if (copy_to_user(ubuf, kbuf, inner.len)) {
		ret = -EFAULT;
		goto out;
	}
	outer.result = sum;
	if (copy_to_user(argp, &outer, sizeof(outer)))
		ret = -EFAULT;
out:
	kvfree(kbuf);
	return ret;
}

static long ioc_meet(void __user *argp)
{
	struct devfile_test_meet m;
	long left, ret = 0;
	u64 round;

	if (copy_from_user(&m, argp, sizeof(m)))
		return -EFAULT;
	if (m.parties < 2 || m.parties > 16 || !m.timeout_ms ||
	    m.timeout_ms > 600000)
		return -EINVAL;
	if (mutex_lock_interruptible(&meet_lock))
		return -ERESTARTSYS;
	if (meet_arrived && meet_parties != m.parties) {
		mutex_unlock(&meet_lock);
		return -EBUSY;
	}
	meet_parties = m.parties;
	round = meet_round;
	if (++meet_arrived == meet_parties) {
		meet_arrived = 0;
		WRITE_ONCE(meet_round, round + 1);
		mutex_unlock(&meet_lock);
		wake_up_all(&meet_wq);
	} else {
		mutex_unlock(&meet_lock);
		atomic64_inc(&meet_waiting);
		left = wait_event_interruptible_timeout(
			meet_wq, READ_ONCE(meet_round) != round,
			msecs_to_jiffies(m.timeout_ms));
		atomic64_dec(&meet_waiting);
		if (left <= 0) {
			/* Leave the round, unless it completed meanwhile. */
			mutex_lock(&meet_lock);
			if (meet_round == round) {
				meet_arrived--;
				ret = left ? left : -ETIMEDOUT;
			}
			mutex_unlock(&meet_lock);
			if (ret)
				return ret;
		}
	}
	m.round = round + 1;
	return copy_to_user(argp, &m, sizeof(m)) ? -EFAULT : 0;
}

static long ioc_mmio(struct dt_dev *d, void __user *argp, bool write)
{
	struct devfile_test_mmio m;
	u64 *p;

	if (copy_from_user(&m, argp, sizeof(m)))
		return -EFAULT;
	if (m.off >= DEVFILE_TEST_MMIO_SIZE || (m.off & 7))
		return -EINVAL;
	p = (u64 *)(d->mmio + m.off);
	if (write) {
		WRITE_ONCE(*p, m.value);
		return 0;
	}
	m.value = READ_ONCE(*p);
	return copy_to_user(argp, &m, sizeof(m)) ? -EFAULT : 0;
}

static long dt_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	void __user *argp = (void __user *)arg;
	struct dt_file *df = file->private_data;
	struct dt_dev *d = df->d;
	struct devfile_test_xor x;
	struct devfile_test_peek pk;
	u64 v;
	int i;

	atomic64_inc(&d->cnt.ioctls);
	switch (cmd) {
	case DEVFILE_TEST_IOC_RESET:
		return dt_reset(d);
	case DEVFILE_TEST_IOC_GET_INFO:
		return ioc_get_info(d, argp);
	case DEVFILE_TEST_IOC_SET_VALUE:
		if (copy_from_user(&v, argp, sizeof(v)))
			return -EFAULT;
		atomic64_set(&d->value, v);
		return 0;
	case DEVFILE_TEST_IOC_GET_VALUE:
		v = atomic64_read(&d->value);
		return copy_to_user(argp, &v, sizeof(v)) ? -EFAULT : 0;
	case DEVFILE_TEST_IOC_XOR:
		if (copy_from_user(&x, argp, sizeof(x)))
			return -EFAULT;
		x.out = x.in ^ x.key;
		return copy_to_user(argp, &x, sizeof(x)) ? -EFAULT : 0;
	case DEVFILE_TEST_IOC_NESTED:
		return ioc_nested(argp);
	case DEVFILE_TEST_IOC_PEEK:
		if (copy_from_user(&pk, argp, sizeof(pk)))
			return -EFAULT;
		if (copy_from_user(&v, u64_to_user_ptr(pk.addr), sizeof(v)))
			return -EFAULT;
		pk.value = v;
		return copy_to_user(argp, &pk, sizeof(pk)) ? -EFAULT : 0;
	case DEVFILE_TEST_IOC_FAIL:
		if (copy_from_user(&i, argp, sizeof(i)))
			return -EFAULT;
		/* Below ERESTARTSYS: no kernel-internal codes. */
		if (i < 1 || i > 511)
			return -EINVAL;
		return -i;
	case DEVFILE_TEST_IOC_SET_MODE:
		if (copy_from_user(&i, argp, sizeof(i)))
			return -EFAULT;
		if (i != DEVFILE_TEST_MODE_BUFFER &&
		    i != DEVFILE_TEST_MODE_PIPE)
			return -EINVAL;
		WRITE_ONCE(df->mode, i);
		return 0;
	case DEVFILE_TEST_IOC_MMIO_READ:
		return ioc_mmio(d, argp, false);
	case DEVFILE_TEST_IOC_MMIO_WRITE:
		return ioc_mmio(d, argp, true);
	case DEVFILE_TEST_IOC_ECHO:
		return arg <= 0x7fffffff ? (long)arg : -EINVAL;
	case DEVFILE_TEST_IOC_MEET:
		return ioc_meet(argp);
	case DEVFILE_TEST_IOC_MOVE:
		return ioc_move(d, file, argp);
	default:
		return -ENOTTY;
	}
}

/* ---- mmap ----------------------------------------------------------------- */

/*
 * Every mapping is counted in active_mmaps and mapped_pages from mmap (or
 * ->open, for copies made by fork and mremap) to ->close. Splitting a
 * mapping (partial munmap or mprotect) is refused so that each vma keeps
 * the size it was counted with.
 */
static void dt_vm_open(struct vm_area_struct *vma)
{
	struct dt_dev *d = vma->vm_private_data;

	atomic64_inc(&d->cnt.active_mmaps);
	atomic64_add(vma_pages(vma), &d->cnt.mapped_pages);
}

static void dt_vm_close(struct vm_area_struct *vma)
{
	struct dt_dev *d = vma->vm_private_data;

	atomic64_dec(&d->cnt.active_mmaps);
	atomic64_sub(vma_pages(vma), &d->cnt.mapped_pages);
}

static int dt_vm_may_split(struct vm_area_struct *vma, unsigned long addr)
{
	return -EINVAL;
}

/* The offset of a fault inside its region, or -1 outside the region. */
static long dt_fault_offset(struct vm_fault *vmf, unsigned long size)
{
	u64 off = (u64)vmf->pgoff << PAGE_SHIFT;

	if (vmf->pgoff >= (MAX_MAP_OFFSET >> PAGE_SHIFT))
		return -1;
	off &= DEVFILE_TEST_MAP_OFFSET_MASK;
	if (off >= size)
		return -1;
	return off;
}

static vm_fault_t dt_ram_fault(struct vm_fault *vmf)
{
	struct dt_dev *d = vmf->vma->vm_private_data;
	long off = dt_fault_offset(vmf, DEVFILE_TEST_BUF_SIZE);
	struct page *page;

	if (off < 0)
		return VM_FAULT_SIGBUS;
	page = vmalloc_to_page(d->buf + off);
	if (!page)
		return VM_FAULT_SIGBUS;
	get_page(page);
	vmf->page = page;
	return 0;
}

static vm_fault_t dt_mmio_fault(struct vm_fault *vmf)
{
	long off = dt_fault_offset(vmf, DEVFILE_TEST_MMIO_SIZE);
	struct vm_area_struct *vma = vmf->vma;
	struct dt_dev *d = vma->vm_private_data;

	if (off < 0)
		return VM_FAULT_SIGBUS;
	return vmf_insert_pfn_prot(vma, vmf->address,
				   page_to_pfn(d->mmio_page) +
					   (off >> PAGE_SHIFT),
				   vma->vm_page_prot);
}

/* The page a move has not replaced: under mov_lock, as TTM's fault. */
static vm_fault_t dt_mov_fault(struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;
	struct dt_dev *d = vma->vm_private_data;
	pgoff_t i = vmf->pgoff - MOV_PGOFF;
	vm_fault_t ret;

	if (vmf->pgoff < MOV_PGOFF || i >= MOV_PAGES)
		return VM_FAULT_SIGBUS;
	mutex_lock(&d->mov_lock);
	ret = vmf_insert_pfn(vma, vmf->address, page_to_pfn(d->mov[i]));
	mutex_unlock(&d->mov_lock);
	return ret;
}

static const struct vm_operations_struct dt_vm_ops_upfront = {
	.open = dt_vm_open,
	.close = dt_vm_close,
	.may_split = dt_vm_may_split,
};

static const struct vm_operations_struct dt_vm_ops_ram_fault = {
	.open = dt_vm_open,
	.close = dt_vm_close,
	.may_split = dt_vm_may_split,
	.fault = dt_ram_fault,
};

static const struct vm_operations_struct dt_vm_ops_movable = {
	.open = dt_vm_open,
	.close = dt_vm_close,
	.may_split = dt_vm_may_split,
	.fault = dt_mov_fault,
};

static const struct vm_operations_struct dt_vm_ops_mmio_fault = {
	.open = dt_vm_open,
	.close = dt_vm_close,
	.may_split = dt_vm_may_split,
	.fault = dt_mmio_fault,
};

static int dt_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct dt_dev *d = dt_of(file);
	unsigned long len = vma->vm_end - vma->vm_start;
	u64 off, region, roff, size;
	int ret = 0;

	/* Private (copy-on-write) mappings of device memory: no. */
	if (!(vma->vm_flags & VM_MAYSHARE))
		return -EINVAL;
	if (vma->vm_pgoff >= (MAX_MAP_OFFSET >> PAGE_SHIFT))
		return -EINVAL;
	off = (u64)vma->vm_pgoff << PAGE_SHIFT;
	region = off & DEVFILE_TEST_MAP_REGION_MASK;
	roff = off & DEVFILE_TEST_MAP_OFFSET_MASK;
	size = region < DEVFILE_TEST_MAP_MMIO_UPFRONT ? DEVFILE_TEST_BUF_SIZE :
							DEVFILE_TEST_MMIO_SIZE;
	if (region == DEVFILE_TEST_MAP_RAM_FAULT &&
	    roff >= DEVFILE_TEST_MAP_MOVABLE) {
		roff -= DEVFILE_TEST_MAP_MOVABLE;
		size = MOV_SIZE;
		region = DEVFILE_TEST_MAP_MOVABLE;
	}
	if (!len || roff >= size || len > size - roff)
		return -EINVAL;

	vma->vm_private_data = d;
	switch (region) {
	case DEVFILE_TEST_MAP_MOVABLE:
		/* As TTM: PFNMAP, the pages inserted on fault. */
		vma->vm_flags |= VM_IO | VM_PFNMAP | VM_DONTEXPAND |
				 VM_DONTDUMP;
		vma->vm_ops = &dt_vm_ops_movable;
		break;
	case DEVFILE_TEST_MAP_RAM_FAULT:
		vma->vm_flags |= VM_DONTEXPAND | VM_DONTDUMP;
		vma->vm_ops = &dt_vm_ops_ram_fault;
		break;
	case DEVFILE_TEST_MAP_RAM_UPFRONT:
		/* Sets VM_DONTEXPAND | VM_DONTDUMP (and VM_MIXEDMAP). */
		ret = remap_vmalloc_range(vma, d->buf, roff >> PAGE_SHIFT);
		vma->vm_ops = &dt_vm_ops_upfront;
		break;
	case DEVFILE_TEST_MAP_MMIO_UPFRONT:
		vma->vm_page_prot = pgprot_noncached(vma->vm_page_prot);
		/* Sets VM_IO | VM_PFNMAP | VM_DONTEXPAND | VM_DONTDUMP. */
		ret = remap_pfn_range(vma, vma->vm_start,
				      page_to_pfn(d->mmio_page) +
					      (roff >> PAGE_SHIFT),
				      len, vma->vm_page_prot);
		vma->vm_ops = &dt_vm_ops_upfront;
		break;
	case DEVFILE_TEST_MAP_MMIO_FAULT:
		vma->vm_page_prot = pgprot_noncached(vma->vm_page_prot);
		vma->vm_flags |= VM_IO | VM_PFNMAP | VM_DONTEXPAND |
				 VM_DONTDUMP;
		vma->vm_ops = &dt_vm_ops_mmio_fault;
		break;
	}
	if (ret)
		return ret;
	/* The core calls ->open only for copies; count the first one here. */
	dt_vm_open(vma);
	return 0;
}

static const struct file_operations dt_fops = {
	.owner = THIS_MODULE,
	.open = dt_open,
	.release = dt_release,
	.read = dt_read,
	.write = dt_write,
	.llseek = dt_llseek,
	.unlocked_ioctl = dt_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.poll = dt_poll,
	.fasync = dt_fasync,
	.mmap = dt_mmap,
};

static void dt_free(struct dt_dev *d)
{
	int i;

	for (i = 0; i < MOV_PAGES; i++) {
		if (d->mov[i])
			__free_page(d->mov[i]);
		if (d->grave[i])
			__free_page(d->grave[i]);
	}
	mov_free_retired(d);
	if (d->mmio_page) {
		if (d->mmio_uc)
			set_memory_wb((unsigned long)d->mmio, MMIO_PAGES);
		__free_pages(d->mmio_page, MMIO_ORDER);
	}
	vfree(d->buf);
	kfree(d->fifo);
	kfree(d);
}

/* ---- sysfs attributes (for the shim's IDENT) -------------------------- */

/*
 * Attributes of every kind the shim's identity text must handle: text
 * with a tab and a backslash (escaped), several lines, binary bytes, too
 * long, write-only, failing, and a plain attribute group ("info/...").
 * docs/devfile-testdev.md lists what IDENT must make of them.
 */
static ssize_t label_show(struct device *dev, struct device_attribute *attr,
			  char *buf)
{
	return sysfs_emit(buf, "devfile test\tdevice \\ one\n");
}
static DEVICE_ATTR_RO(label);

static ssize_t multi_show(struct device *dev, struct device_attribute *attr,
			  char *buf)
{
	return sysfs_emit(buf, "line one\nline two\n");
}
static DEVICE_ATTR_RO(multi);

static ssize_t blob_show(struct device *dev, struct device_attribute *attr,
			 char *buf)
{
	static const char blob[] = { 'D', 'V', 0, 1, (char)0xff };

	memcpy(buf, blob, sizeof(blob));
	return sizeof(blob);
}
static DEVICE_ATTR_RO(blob);

static ssize_t big_show(struct device *dev, struct device_attribute *attr,
			char *buf)
{
	memset(buf, 'x', 600);
	return 600;
}
static DEVICE_ATTR_RO(big);

static ssize_t broken_show(struct device *dev, struct device_attribute *attr,
			   char *buf)
{
	return -EIO;
}
static DEVICE_ATTR_RO(broken);

static ssize_t secret_store(struct device *dev, struct device_attribute *attr,
			    const char *buf, size_t count)
{
	return count;
}
static DEVICE_ATTR_WO(secret);

static struct attribute *dt_attrs[] = {
	&dev_attr_label.attr,
	&dev_attr_multi.attr,
	&dev_attr_blob.attr,
	&dev_attr_big.attr,
	&dev_attr_broken.attr,
	&dev_attr_secret.attr,
	NULL,
};

static const struct attribute_group dt_group = {
	.attrs = dt_attrs,
};

static ssize_t vendor_show(struct device *dev, struct device_attribute *attr,
			   char *buf)
{
	return sysfs_emit(buf, "0x1af4\n");
}
static DEVICE_ATTR_RO(vendor);

static ssize_t model_show(struct device *dev, struct device_attribute *attr,
			  char *buf)
{
	return sysfs_emit(buf, "devfile\n");
}
static DEVICE_ATTR_RO(model);

static struct attribute *dt_info_attrs[] = {
	&dev_attr_vendor.attr,
	&dev_attr_model.attr,
	NULL,
};

static const struct attribute_group dt_info_group = {
	.name = "info",
	.attrs = dt_info_attrs,
};

static const struct attribute_group *dt_groups[] = {
	&dt_group,
	&dt_info_group,
	NULL,
};

static struct dt_dev *dt_create(unsigned int index)
{
	struct dt_dev *d = kzalloc(sizeof(*d), GFP_KERNEL);
	int i, ret;

	if (!d)
		return ERR_PTR(-ENOMEM);
	mutex_init(&d->fifo_lock);
	init_waitqueue_head(&d->fifo_wq);
	mutex_init(&d->mov_lock);
	INIT_LIST_HEAD(&d->retired);
	for (i = 0; i < MOV_PAGES; i++) {
		d->mov[i] = alloc_page(GFP_KERNEL | __GFP_ZERO);
		if (!d->mov[i]) {
			dt_free(d);
			return ERR_PTR(-ENOMEM);
		}
	}
	d->buf = vmalloc_user(DEVFILE_TEST_BUF_SIZE);
	d->fifo = kzalloc(DEVFILE_TEST_FIFO_SIZE, GFP_KERNEL);
	d->mmio_page = alloc_pages(GFP_KERNEL | __GFP_ZERO, MMIO_ORDER);
	if (!d->buf || !d->fifo || !d->mmio_page) {
		dt_free(d);
		return ERR_PTR(-ENOMEM);
	}
	d->mmio = page_address(d->mmio_page);
	/*
	 * Make the kernel's own mapping of the MMIO-like pages uncached too,
	 * so that the user mappings (UC-) and the MMIO_READ/WRITE ioctls see
	 * the same memory type and PAT agrees with what is asked for.
	 */
	d->mmio_uc = !set_memory_uc((unsigned long)d->mmio, MMIO_PAGES);
	if (index)
		snprintf(d->name, sizeof(d->name), "%s%u", DEVFILE_TEST_NAME,
			 index);
	else
		strscpy(d->name, DEVFILE_TEST_NAME, sizeof(d->name));
	d->misc.minor = MISC_DYNAMIC_MINOR;
	d->misc.name = d->name;
	d->misc.fops = &dt_fops;
	d->misc.mode = 0666;
	d->misc.groups = dt_groups;
	ret = misc_register(&d->misc);
	if (ret) {
		dt_free(d);
		return ERR_PTR(ret);
	}
	pr_info("/dev/%s minor %d, buffer %lu bytes, mmio pfn %#lx %s\n",
		d->name, d->misc.minor, DEVFILE_TEST_BUF_SIZE,
		page_to_pfn(d->mmio_page), d->mmio_uc ? "uc" : "wb");
	return d;
}

static void dt_destroy_all(void)
{
	unsigned int i;

	for (i = 0; i < MAX_INSTANCES; i++) {
		if (dt_devs[i]) {
			misc_deregister(&dt_devs[i]->misc);
			dt_free(dt_devs[i]);
			dt_devs[i] = NULL;
		}
	}
}

static int __init dt_init(void)
{
	unsigned int i;

	if (instances < 1 || instances > MAX_INSTANCES) {
		pr_err("instances=%u: must be 1 to %d\n", instances,
		       MAX_INSTANCES);
		return -EINVAL;
	}
	for (i = 0; i < instances; i++) {
		struct dt_dev *d = dt_create(i);

		if (IS_ERR(d)) {
			dt_destroy_all();
			return PTR_ERR(d);
		}
		dt_devs[i] = d;
	}
	return 0;
}

static void __exit dt_exit(void)
{
	dt_destroy_all();
}

module_init(dt_init);
module_exit(dt_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("devirt: test device for device-file forwarding");
