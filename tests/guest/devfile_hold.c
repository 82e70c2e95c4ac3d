// SPDX-License-Identifier: GPL-2.0
/*
 * devfile_hold: hold a forwarded device open while the driver VM
 * withdraws it (tests/system/test_hotplug.py).
 *
 *   devfile_hold [-d /dev/devfile_test] [-t SECONDS]
 *
 * Opens the device, puts the file in pipe mode, leaves one thread blocked
 * in read() (the empty FIFO) and calls GET_VALUE every 100 ms from the
 * other. Prints one line per event, each "DEVFILE-HOLD ...":
 *   opened             the device is open, the reader is blocked
 *   read=ERRNO t=S     the blocked read returned (S seconds after open)
 *   ioctl=ERRNO t=S    the first ioctl that failed
 *   done | timeout     both failed, or -t passed first (a hang)
 * Exit status 0 only when both failed with ENODEV or EIO.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "devfile_testdev.h"

static int fd;
static double t0;
static volatile int read_errno = -1;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static const char *ename(int e)
{
	switch (e) {
	case ENODEV:
		return "ENODEV";
	case EIO:
		return "EIO";
	case EBADF:
		return "EBADF";
	case 0:
		return "0";
	default:
		return strerror(e);
	}
}

static void *reader(void *arg)
{
	char c;
	ssize_t n = read(fd, &c, 1);
	int e = n < 0 ? errno : 0;

	(void)arg;
	printf("DEVFILE-HOLD read=%s n=%zd t=%.1f\n", ename(e), n, now() - t0);
	fflush(stdout);
	read_errno = e;
	return NULL;
}

static int dead(int e)
{
	return e == ENODEV || e == EIO;
}

int main(int argc, char **argv)
{
	const char *dev = "/dev/devfile_test";
	double limit = 120;
	unsigned long long v;
	int mode = 1, opt, ioctl_errno = -1;
	pthread_t th;

	while ((opt = getopt(argc, argv, "d:t:")) != -1) {
		if (opt == 'd')
			dev = optarg;
		else if (opt == 't')
			limit = atof(optarg);
		else
			return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	fd = open(dev, O_RDWR);
	if (fd < 0) {
		printf("DEVFILE-HOLD open=%s\n", ename(errno));
		return 1;
	}
	if (ioctl(fd, DEVFILE_TEST_IOC_SET_MODE, &mode)) {
		printf("DEVFILE-HOLD set_mode=%s\n", ename(errno));
		return 1;
	}
	t0 = now();
	if (pthread_create(&th, NULL, reader, NULL))
		return 1;
	printf("DEVFILE-HOLD opened %s\n", dev);
	while (now() - t0 < limit) {
		if (ioctl_errno < 0 &&
		    ioctl(fd, DEVFILE_TEST_IOC_GET_VALUE, &v) < 0) {
			ioctl_errno = errno;
			printf("DEVFILE-HOLD ioctl=%s t=%.1f\n",
			       ename(ioctl_errno), now() - t0);
		}
		if (ioctl_errno >= 0 && read_errno >= 0) {
			pthread_join(th, NULL);
			printf("DEVFILE-HOLD done\n");
			close(fd);
			return !(dead(ioctl_errno) && dead(read_errno));
		}
		usleep(100000);
	}
	printf("DEVFILE-HOLD timeout read=%s ioctl=%s\n",
	       read_errno < 0 ? "blocked" : ename(read_errno),
	       ioctl_errno < 0 ? "working" : ename(ioctl_errno));
	return 1;
}
