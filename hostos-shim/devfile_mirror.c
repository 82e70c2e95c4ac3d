// SPDX-License-Identifier: GPL-2.0
/*
 * devfile-mirror GUEST_ID: donate this process's address space to the
 * devfile hypercall transport (devfile_transport.ko), which turns it into the
 * mirror of user guest GUEST_ID once this process has exited. Started by
 * the module itself (call_usermodehelper); nothing else to do here.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>

#define HVT_IOC_DONATE_MM _IO('H', 1)

int main(int argc, char **argv)
{
	int fd;

	if (argc != 2) {
		fprintf(stderr, "usage: devfile-mirror GUEST_ID\n");
		return 2;
	}
	fd = open("/dev/devfile_hv", O_RDWR);
	if (fd < 0 || ioctl(fd, HVT_IOC_DONATE_MM, atoi(argv[1]))) {
		perror("devfile-mirror");
		return 1;
	}
	return 0;
}
