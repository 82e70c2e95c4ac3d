// SPDX-License-Identifier: GPL-2.0
/*
 * mixer: set ALSA mixer controls straight through the control device's
 * ioctls, for a busybox initramfs without alsa-utils (amixer).
 *
 *   mixer [-D /dev/snd/controlC0] 'NAME=VALUE' ...
 *
 * NAME is a control element's full name, for example "Master Playback
 * Switch" or "Master Playback Volume". VALUE is on, off, max, min, a
 * percentage of the range ("80%") or a number; it goes to every channel
 * of every element of that name. Boolean and integer elements only.
 * Prints one line per element written; exits 1 when a name matched no
 * element or a write failed.
 *
 * The driver VM uses it to unmute QEMU's HDA codec, whose Master is muted
 * after boot (so its wav audiodev records silence).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <sound/asound.h>

static int set_one(int fd, const struct snd_ctl_elem_id *id, const char *val)
{
	struct snd_ctl_elem_info info;
	struct snd_ctl_elem_value v;
	long min = 0, max = 1, x;
	char *end;
	unsigned int i;

	memset(&info, 0, sizeof(info));
	info.id = *id;
	if (ioctl(fd, SNDRV_CTL_IOCTL_ELEM_INFO, &info) < 0) {
		perror("mixer: ELEM_INFO");
		return -1;
	}
	if (info.type == SNDRV_CTL_ELEM_TYPE_INTEGER) {
		min = info.value.integer.min;
		max = info.value.integer.max;
	} else if (info.type != SNDRV_CTL_ELEM_TYPE_BOOLEAN) {
		fprintf(stderr, "mixer: %s: type %d not supported\n",
			(const char *)id->name, info.type);
		return -1;
	}
	if (!strcmp(val, "on") || !strcmp(val, "max")) {
		x = max;
	} else if (!strcmp(val, "off") || !strcmp(val, "min")) {
		x = min;
	} else {
		x = strtol(val, &end, 10);
		if (end == val || (*end && strcmp(end, "%"))) {
			fprintf(stderr, "mixer: bad value '%s'\n", val);
			return -1;
		}
		if (*end == '%')
			x = min + (max - min) * x / 100;
		if (x < min)
			x = min;
		if (x > max)
			x = max;
	}
	memset(&v, 0, sizeof(v));
	v.id = info.id;
	for (i = 0; i < info.count && i < 128; i++)
		v.value.integer.value[i] = x;
	if (ioctl(fd, SNDRV_CTL_IOCTL_ELEM_WRITE, &v) < 0) {
		fprintf(stderr, "mixer: ELEM_WRITE %s: %s\n",
			(const char *)id->name, strerror(errno));
		return -1;
	}
	printf("mixer: %s index %u = %ld (range %ld..%ld, %u channels)\n",
	       (const char *)id->name, id->index, x, min, max, info.count);
	return 0;
}

int main(int argc, char **argv)
{
	const char *dev = "/dev/snd/controlC0";
	struct snd_ctl_elem_list list;
	struct snd_ctl_elem_id *ids;
	int fd, a, rc = 0;
	unsigned int i;

	if (argc > 2 && !strcmp(argv[1], "-D")) {
		dev = argv[2];
		argv += 2;
		argc -= 2;
	}
	if (argc < 2) {
		fprintf(stderr,
			"usage: mixer [-D CONTROLDEV] 'NAME=VALUE' ...\n");
		return 2;
	}
	fd = open(dev, O_RDWR);
	if (fd < 0) {
		fprintf(stderr, "mixer: %s: %s\n", dev, strerror(errno));
		return 1;
	}
	memset(&list, 0, sizeof(list));
	if (ioctl(fd, SNDRV_CTL_IOCTL_ELEM_LIST, &list) < 0) {
		perror("mixer: ELEM_LIST");
		return 1;
	}
	ids = calloc(list.count + 1, sizeof(*ids));
	if (!ids)
		return 1;
	list.space = list.count;
	list.pids = ids;
	if (ioctl(fd, SNDRV_CTL_IOCTL_ELEM_LIST, &list) < 0) {
		perror("mixer: ELEM_LIST");
		return 1;
	}
	for (a = 1; a < argc; a++) {
		char *eq = strrchr(argv[a], '=');
		int found = 0;

		if (!eq) {
			fprintf(stderr, "mixer: '%s' is not NAME=VALUE\n",
				argv[a]);
			rc = 1;
			continue;
		}
		*eq = '\0';
		for (i = 0; i < list.used; i++) {
			if (strcmp((const char *)ids[i].name, argv[a]))
				continue;
			found = 1;
			if (set_one(fd, &ids[i], eq + 1))
				rc = 1;
		}
		if (!found) {
			fprintf(stderr, "mixer: no control '%s' on %s\n",
				argv[a], dev);
			rc = 1;
		}
	}
	close(fd);
	return rc;
}
