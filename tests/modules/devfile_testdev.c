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
 * State is global (all open files share it) except the mode of each open
 * file (buffer or pipe):
 *   - a data buffer of DEVFILE_TEST_BUF_SIZE bytes (vmalloc_user): read,
 *     write and llseek at the file position in buffer mode; mmap regions
 *     RAM_FAULT and RAM_UPFRONT;
 *   - a FIFO of DEVFILE_TEST_FIFO_SIZE bytes: read and write in pipe mode,
 *     poll, fasync (SIGIO);
 *   - an "MMIO-like" region of DEVFILE_TEST_MMIO_SIZE bytes of physically
 *     contiguous pages, uncached: mmap regions MMIO_UPFRONT and
 *     MMIO_FAULT, ioctls MMIO_READ and MMIO_WRITE;
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
#include <asm/set_memory.h>

#include "devfile_testdev.h"

#define MMIO_ORDER 4 /* 16 pages */
#define MMIO_PAGES (1UL << MMIO_ORDER)
#define REGION_SHIFT 30
#define MAX_MAP_OFFSET (1ULL << 32)

static_assert(DEVFILE_TEST_MMIO_SIZE == MMIO_PAGES * PAGE_SIZE);
static_assert(DEVFILE_TEST_BUF_SIZE % PAGE_SIZE == 0);
static_assert(sizeof(struct devfile_test_info) == 14 * 8);

/* Per open file. */
struct dt_file {
	int mode; /* DEVFILE_TEST_MODE_* */
};

static u8 *dt_buf; /* DEVFILE_TEST_BUF_SIZE, vmalloc_user */
static struct page *dt_mmio_page; /* MMIO_PAGES contiguous pages */
static u8 *dt_mmio; /* their kernel address */
static bool dt_mmio_uc; /* set_memory_uc succeeded */
static atomic64_t dt_value;

/* The FIFO: a ring, its mutex, the readers' and pollers' wait queue. */
static u8 *dt_fifo;
static size_t dt_fifo_head; /* next byte to read */
static size_t dt_fifo_len; /* bytes in the ring; written under dt_fifo_lock */
static DEFINE_MUTEX(dt_fifo_lock);
static DECLARE_WAIT_QUEUE_HEAD(dt_fifo_wq);
static struct fasync_struct *dt_async_queue;

static struct {
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
} dt_cnt;

static int dt_open(struct inode *inode, struct file *file)
{
	struct dt_file *df;

	df = kzalloc(sizeof(*df), GFP_KERNEL);
	if (!df)
		return -ENOMEM;
	df->mode = DEVFILE_TEST_MODE_BUFFER;
	/* misc_open set private_data to the miscdevice; replace it. */
	file->private_data = df;
	atomic64_inc(&dt_cnt.open_files);
	atomic64_inc(&dt_cnt.total_opens);
	return 0;
}

static int dt_release(struct inode *inode, struct file *file)
{
	/* The VFS already removed a fasync registration (->fasync(-1, 0)). */
	kfree(file->private_data);
	file->private_data = NULL;
	atomic64_dec(&dt_cnt.open_files);
	atomic64_inc(&dt_cnt.total_releases);
	return 0;
}

static int dt_mode(struct file *file)
{
	struct dt_file *df = file->private_data;

	return READ_ONCE(df->mode);
}

/* ---- buffer mode ---------------------------------------------------- */

static ssize_t buf_read(char __user *ubuf, size_t count, loff_t *ppos)
{
	loff_t pos = *ppos;
	size_t left;

	if (pos < 0)
		return -EINVAL;
	if (pos >= DEVFILE_TEST_BUF_SIZE || !count)
		return 0;
	count = min_t(size_t, count, DEVFILE_TEST_BUF_SIZE - pos);
	left = copy_to_user(ubuf, dt_buf + pos, count);
	if (left == count)
		return -EFAULT;
	count -= left;
	*ppos = pos + count;
	return count;
}

static ssize_t buf_write(const char __user *ubuf, size_t count, loff_t *ppos)
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
	left = copy_from_user(dt_buf + pos, ubuf, count);
	if (left == count)
		return -EFAULT;
	count -= left;
	*ppos = pos + count;
	return count;
}

/* ---- pipe mode -------------------------------------------------------- */

static bool fifo_nonempty(void)
{
	return READ_ONCE(dt_fifo_len) != 0;
}

/* Copy up to count bytes out of the FIFO; dt_fifo_lock held. */
static ssize_t fifo_take(char __user *ubuf, size_t count)
{
	size_t done = 0;

	count = min(count, dt_fifo_len);
	while (done < count) {
		size_t seg = min(count - done,
				 DEVFILE_TEST_FIFO_SIZE - dt_fifo_head);
		size_t left =
			copy_to_user(ubuf + done, dt_fifo + dt_fifo_head, seg);

		seg -= left;
		done += seg;
		dt_fifo_head = (dt_fifo_head + seg) % DEVFILE_TEST_FIFO_SIZE;
		WRITE_ONCE(dt_fifo_len, dt_fifo_len - seg);
		if (left)
			break;
	}
	if (!dt_fifo_len)
		dt_fifo_head = 0;
	return done ? done : -EFAULT;
}

static ssize_t pipe_read(struct file *file, char __user *ubuf, size_t count)
{
	ssize_t ret;

	if (!count)
		return 0;
	for (;;) {
		if (mutex_lock_interruptible(&dt_fifo_lock))
			return -ERESTARTSYS;
		if (dt_fifo_len)
			break;
		mutex_unlock(&dt_fifo_lock);
		if (file->f_flags & O_NONBLOCK)
			return -EAGAIN;
		atomic64_inc(&dt_cnt.blocked_readers);
		ret = wait_event_interruptible(dt_fifo_wq, fifo_nonempty());
		atomic64_dec(&dt_cnt.blocked_readers);
		if (ret)
			return ret;
	}
	ret = fifo_take(ubuf, count);
	mutex_unlock(&dt_fifo_lock);
	return ret;
}

static ssize_t pipe_write(const char __user *ubuf, size_t count)
{
	size_t done = 0, space, tail;

	if (!count)
		return 0;
	if (mutex_lock_interruptible(&dt_fifo_lock))
		return -ERESTARTSYS;
	space = DEVFILE_TEST_FIFO_SIZE - dt_fifo_len;
	if (!space) {
		mutex_unlock(&dt_fifo_lock);
		return -EAGAIN;
	}
	count = min(count, space);
	while (done < count) {
		size_t seg, left;

		tail = (dt_fifo_head + dt_fifo_len) % DEVFILE_TEST_FIFO_SIZE;
		seg = min(count - done, DEVFILE_TEST_FIFO_SIZE - tail);
		left = copy_from_user(dt_fifo + tail, ubuf + done, seg);
		seg -= left;
		done += seg;
		WRITE_ONCE(dt_fifo_len, dt_fifo_len + seg);
		if (left)
			break;
	}
	mutex_unlock(&dt_fifo_lock);
	if (!done)
		return -EFAULT;
	wake_up_interruptible_poll(&dt_fifo_wq, EPOLLIN | EPOLLRDNORM);
	kill_fasync(&dt_async_queue, SIGIO, POLL_IN);
	return done;
}

/* Interruptible: a reader may hold the lock while its copy waits. */
static int fifo_reset(void)
{
	if (mutex_lock_interruptible(&dt_fifo_lock))
		return -ERESTARTSYS;
	dt_fifo_head = 0;
	WRITE_ONCE(dt_fifo_len, 0);
	mutex_unlock(&dt_fifo_lock);
	return 0;
}

/* ---- file operations ---------------------------------------------------- */

static ssize_t dt_read(struct file *file, char __user *ubuf, size_t count,
		       loff_t *ppos)
{
	atomic64_inc(&dt_cnt.reads);
	if (dt_mode(file) == DEVFILE_TEST_MODE_PIPE)
		return pipe_read(file, ubuf, count);
	return buf_read(ubuf, count, ppos);
}

static ssize_t dt_write(struct file *file, const char __user *ubuf,
			size_t count, loff_t *ppos)
{
	atomic64_inc(&dt_cnt.writes);
	if (dt_mode(file) == DEVFILE_TEST_MODE_PIPE)
		return pipe_write(ubuf, count);
	return buf_write(ubuf, count, ppos);
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
	__poll_t mask = EPOLLOUT | EPOLLWRNORM;

	poll_wait(file, &dt_fifo_wq, wait);
	if (dt_mode(file) == DEVFILE_TEST_MODE_PIPE && fifo_nonempty())
		mask |= EPOLLIN | EPOLLRDNORM;
	return mask;
}

static int dt_fasync(int fd, struct file *file, int on)
{
	int ret = fasync_helper(fd, file, on, &dt_async_queue);

	/* 1: an entry was added (on) or removed (off); 0: no change. */
	if (ret > 0) {
		if (on)
			atomic64_inc(&dt_cnt.fasync);
		else
			atomic64_dec(&dt_cnt.fasync);
	}
	return ret < 0 ? ret : 0;
}

/* ---- ioctls ------------------------------------------------------------- */

static int dt_reset(void)
{
	if (fifo_reset())
		return -ERESTARTSYS;
	memset(dt_buf, 0, DEVFILE_TEST_BUF_SIZE);
	memset(dt_mmio, 0, DEVFILE_TEST_MMIO_SIZE);
	atomic64_set(&dt_value, 0);
	atomic64_set(&dt_cnt.total_opens, 0);
	atomic64_set(&dt_cnt.total_releases, 0);
	atomic64_set(&dt_cnt.reads, 0);
	atomic64_set(&dt_cnt.writes, 0);
	atomic64_set(&dt_cnt.ioctls, 0);
	return 0;
}

static long ioc_get_info(void __user *argp)
{
	struct devfile_test_info info;

	memset(&info, 0, sizeof(info));
	info.open_files = atomic64_read(&dt_cnt.open_files);
	info.total_opens = atomic64_read(&dt_cnt.total_opens);
	info.total_releases = atomic64_read(&dt_cnt.total_releases);
	info.reads = atomic64_read(&dt_cnt.reads);
	info.writes = atomic64_read(&dt_cnt.writes);
	info.ioctls = atomic64_read(&dt_cnt.ioctls);
	info.active_mmaps = atomic64_read(&dt_cnt.active_mmaps);
	info.mapped_pages = atomic64_read(&dt_cnt.mapped_pages);
	info.fasync = atomic64_read(&dt_cnt.fasync);
	info.blocked_readers = atomic64_read(&dt_cnt.blocked_readers);
	info.fifo_bytes = READ_ONCE(dt_fifo_len);
	info.buf_size = DEVFILE_TEST_BUF_SIZE;
	info.mmio_size = DEVFILE_TEST_MMIO_SIZE;
	info.mmio_uc = dt_mmio_uc;
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

static long ioc_mmio(void __user *argp, bool write)
{
	struct devfile_test_mmio m;
	u64 *p;

	if (copy_from_user(&m, argp, sizeof(m)))
		return -EFAULT;
	if (m.off >= DEVFILE_TEST_MMIO_SIZE || (m.off & 7))
		return -EINVAL;
	p = (u64 *)(dt_mmio + m.off);
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
	struct devfile_test_xor x;
	struct devfile_test_peek pk;
	u64 v;
	int i;

	atomic64_inc(&dt_cnt.ioctls);
	switch (cmd) {
	case DEVFILE_TEST_IOC_RESET:
		return dt_reset();
	case DEVFILE_TEST_IOC_GET_INFO:
		return ioc_get_info(argp);
	case DEVFILE_TEST_IOC_SET_VALUE:
		if (copy_from_user(&v, argp, sizeof(v)))
			return -EFAULT;
		atomic64_set(&dt_value, v);
		return 0;
	case DEVFILE_TEST_IOC_GET_VALUE:
		v = atomic64_read(&dt_value);
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
		return ioc_mmio(argp, false);
	case DEVFILE_TEST_IOC_MMIO_WRITE:
		return ioc_mmio(argp, true);
	case DEVFILE_TEST_IOC_ECHO:
		return arg <= 0x7fffffff ? (long)arg : -EINVAL;
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
	atomic64_inc(&dt_cnt.active_mmaps);
	atomic64_add(vma_pages(vma), &dt_cnt.mapped_pages);
}

static void dt_vm_close(struct vm_area_struct *vma)
{
	atomic64_dec(&dt_cnt.active_mmaps);
	atomic64_sub(vma_pages(vma), &dt_cnt.mapped_pages);
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
	long off = dt_fault_offset(vmf, DEVFILE_TEST_BUF_SIZE);
	struct page *page;

	if (off < 0)
		return VM_FAULT_SIGBUS;
	page = vmalloc_to_page(dt_buf + off);
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

	if (off < 0)
		return VM_FAULT_SIGBUS;
	return vmf_insert_pfn_prot(vma, vmf->address,
				   page_to_pfn(dt_mmio_page) +
					   (off >> PAGE_SHIFT),
				   vma->vm_page_prot);
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

static const struct vm_operations_struct dt_vm_ops_mmio_fault = {
	.open = dt_vm_open,
	.close = dt_vm_close,
	.may_split = dt_vm_may_split,
	.fault = dt_mmio_fault,
};

static int dt_mmap(struct file *file, struct vm_area_struct *vma)
{
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
	if (!len || roff >= size || len > size - roff)
		return -EINVAL;

	switch (region) {
	case DEVFILE_TEST_MAP_RAM_FAULT:
		vma->vm_flags |= VM_DONTEXPAND | VM_DONTDUMP;
		vma->vm_ops = &dt_vm_ops_ram_fault;
		break;
	case DEVFILE_TEST_MAP_RAM_UPFRONT:
		/* Sets VM_DONTEXPAND | VM_DONTDUMP (and VM_MIXEDMAP). */
		ret = remap_vmalloc_range(vma, dt_buf, roff >> PAGE_SHIFT);
		vma->vm_ops = &dt_vm_ops_upfront;
		break;
	case DEVFILE_TEST_MAP_MMIO_UPFRONT:
		vma->vm_page_prot = pgprot_noncached(vma->vm_page_prot);
		/* Sets VM_IO | VM_PFNMAP | VM_DONTEXPAND | VM_DONTDUMP. */
		ret = remap_pfn_range(vma, vma->vm_start,
				      page_to_pfn(dt_mmio_page) +
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

static struct miscdevice dt_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = DEVFILE_TEST_NAME,
	.fops = &dt_fops,
	.mode = 0666,
};

static void dt_free(void)
{
	if (dt_mmio_page) {
		if (dt_mmio_uc)
			set_memory_wb((unsigned long)dt_mmio, MMIO_PAGES);
		__free_pages(dt_mmio_page, MMIO_ORDER);
		dt_mmio_page = NULL;
	}
	vfree(dt_buf);
	dt_buf = NULL;
	kfree(dt_fifo);
	dt_fifo = NULL;
}

static int __init dt_init(void)
{
	int ret;

	dt_buf = vmalloc_user(DEVFILE_TEST_BUF_SIZE);
	dt_fifo = kzalloc(DEVFILE_TEST_FIFO_SIZE, GFP_KERNEL);
	dt_mmio_page = alloc_pages(GFP_KERNEL | __GFP_ZERO, MMIO_ORDER);
	if (!dt_buf || !dt_fifo || !dt_mmio_page) {
		dt_free();
		return -ENOMEM;
	}
	dt_mmio = page_address(dt_mmio_page);
	/*
	 * Make the kernel's own mapping of the MMIO-like pages uncached too,
	 * so that the user mappings (UC-) and the MMIO_READ/WRITE ioctls see
	 * the same memory type and PAT agrees with what is asked for.
	 */
	dt_mmio_uc = !set_memory_uc((unsigned long)dt_mmio, MMIO_PAGES);
	ret = misc_register(&dt_misc);
	if (ret) {
		dt_free();
		return ret;
	}
	pr_info("/dev/%s minor %d, buffer %lu bytes, mmio pfn %#lx %s\n",
		DEVFILE_TEST_NAME, dt_misc.minor, DEVFILE_TEST_BUF_SIZE,
		page_to_pfn(dt_mmio_page), dt_mmio_uc ? "uc" : "wb");
	return 0;
}

static void __exit dt_exit(void)
{
	misc_deregister(&dt_misc);
	dt_free();
}

module_init(dt_init);
module_exit(dt_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("devirt: test device for device-file forwarding");
