/* libbpf_loader: open, load and attach a kt object with the system's libbpf, as any libbpf-based
 * loader would (tests/e2e/test_libbpf.py builds it with `gcc -lbpf` and runs it).
 *
 *   libbpf_loader OBJ [--wait] [--dump MAP]... [-- COMMAND ARGS...]
 *
 * Prints `child PID` with a COMMAND, then one line per program:
 * `prog NAME SECTION loaded attached|left-to-loader PROG_ID [ERRNO]`, where
 * left-to-loader means bpf_program__attach() refused to attach from the section name alone
 * (BEGIN/END, perf_event programs). Then `map NAME ID` per map. With COMMAND, the command is
 * forked first and held on a pipe; its pid is written into the object's `kt_cpid` (.rodata)
 * before loading, as kt -c does, and it is released after every attach. Iterator links are
 * read to their end. --wait prints `ready` and waits for a line on stdin (the test looks at
 * bpftool meanwhile). --dump MAP prints `dump MAP N` and N lines `KEYHEX VALUEHEX` at the end
 * (per-CPU values: every CPU's slot, one after another). Everything is closed on exit.
 */
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_PROGS 256
#define MAX_DUMPS 16

static int quiet_print(enum libbpf_print_level level, const char *fmt, va_list args)
{
	if (level != LIBBPF_WARN) /* .kt.meta is "skipped" at INFO level: libbpf ignores it */
		return 0;
	return vfprintf(stderr, fmt, args);
}

static void hex(const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		printf("%02x", p[i]);
}

/* The offset of global `name` in the object's .rodata, from its BTF DATASEC; -1 if absent. */
static long rodata_offset(struct bpf_object *obj, const char *name)
{
	struct btf *btf = bpf_object__btf(obj);
	if (!btf)
		return -1;
	int id = btf__find_by_name_kind(btf, ".rodata", BTF_KIND_DATASEC);
	if (id < 0)
		return -1;
	const struct btf_type *sec = btf__type_by_id(btf, id);
	const struct btf_var_secinfo *v = btf_var_secinfos(sec);
	for (int i = 0; i < btf_vlen(sec); i++, v++) {
		const struct btf_type *var = btf__type_by_id(btf, v->type);
		if (strcmp(btf__name_by_offset(btf, var->name_off), name) == 0)
			return v->offset;
	}
	return -1;
}

static int set_cpid(struct bpf_object *obj, unsigned long long cpid)
{
	long off = rodata_offset(obj, "kt_cpid");
	struct bpf_map *map;
	if (off < 0)
		return 0; /* the script does not read cpid */
	bpf_object__for_each_map(map, obj) {
		size_t size = 0;
		const char *n = bpf_map__name(map);
		size_t len = strlen(n);
		if (len < 7 || strcmp(n + len - 7, ".rodata") != 0)
			continue;
		char *data = (char *)bpf_map__initial_value(map, &size);
		if (!data || (size_t)off + 8 > size)
			return -1;
		memcpy(data + off, &cpid, 8);
		return 0;
	}
	return -1;
}

static void dump_map(struct bpf_object *obj, const char *name)
{
	struct bpf_map *map = bpf_object__find_map_by_name(obj, name);
	if (!map) {
		printf("dump %s missing\n", name);
		return;
	}
	int fd = bpf_map__fd(map);
	size_t ksize = bpf_map__key_size(map), vsize = bpf_map__value_size(map);
	enum bpf_map_type type = bpf_map__type(map);
	int percpu = type == BPF_MAP_TYPE_PERCPU_HASH || type == BPF_MAP_TYPE_PERCPU_ARRAY;
	size_t vtotal = percpu ? ((vsize + 7) / 8 * 8) * libbpf_num_possible_cpus() : vsize;
	unsigned char *key = calloc(1, ksize), *next = calloc(1, ksize), *val = calloc(1, vtotal);
	int n = 0;
	/* two passes: the count first, then the entries (the map does not change any more) */
	for (int pass = 0; pass < 2; pass++) {
		int first = 1;
		if (pass == 1)
			printf("dump %s %d\n", name, n);
		while (bpf_map_get_next_key(fd, first ? NULL : key, next) == 0) {
			first = 0;
			memcpy(key, next, ksize);
			if (bpf_map_lookup_elem(fd, key, val) != 0)
				continue;
			if (pass == 0) {
				n++;
				continue;
			}
			hex(key, ksize);
			printf(" ");
			hex(val, vtotal);
			printf("\n");
		}
	}
	free(key);
	free(next);
	free(val);
}

static void read_iter(struct bpf_link *link, const char *name)
{
	int fd = bpf_iter_create(bpf_link__fd(link));
	char buf[4096];
	long total = 0, n;
	if (fd < 0) {
		printf("iter %s failed %d\n", name, errno);
		return;
	}
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		total += n;
	close(fd);
	printf("iter %s read %ld\n", name, total);
}

int main(int argc, char **argv)
{
	const char *dumps[MAX_DUMPS];
	int ndumps = 0, wait_stdin = 0, cmd_at = 0;
	struct bpf_link *links[MAX_PROGS] = {0};
	int pipefd[2] = {-1, -1};
	pid_t child = 0;
	int status = 0, rc = 1;

	if (argc < 2) {
		fprintf(stderr, "usage: %s OBJ [--wait] [--dump MAP]... [-- COMMAND...]\n", argv[0]);
		return 2;
	}
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--wait") == 0)
			wait_stdin = 1;
		else if (strcmp(argv[i], "--dump") == 0 && i + 1 < argc && ndumps < MAX_DUMPS)
			dumps[ndumps++] = argv[++i];
		else if (strcmp(argv[i], "--") == 0 && i + 1 < argc) {
			cmd_at = i + 1;
			break;
		} else {
			fprintf(stderr, "unknown argument %s\n", argv[i]);
			return 2;
		}
	}
	libbpf_set_print(quiet_print);

	if (cmd_at) { /* the child waits for one byte on the pipe before exec, as kt -c does */
		if (pipe(pipefd) != 0)
			return 1;
		child = fork();
		if (child == 0) {
			char c;
			close(pipefd[1]);
			if (read(pipefd[0], &c, 1) != 1)
				_exit(127);
			close(pipefd[0]);
			execvp(argv[cmd_at], argv + cmd_at);
			_exit(127);
		}
		close(pipefd[0]);
		printf("child %d\n", (int)child);
	}

	struct bpf_object *obj = bpf_object__open_file(argv[1], NULL);
	if (!obj) {
		printf("open failed %d\n", errno);
		goto out;
	}
	if (child && set_cpid(obj, (unsigned long long)child) != 0) {
		printf("cpid not set\n");
		goto close;
	}
	if (bpf_object__load(obj) != 0) {
		printf("load failed %d\n", errno);
		goto close;
	}
	struct bpf_program *prog;
	int nprogs = 0;
	bpf_object__for_each_program(prog, obj) {
		if (nprogs == MAX_PROGS)
			break;
		struct bpf_link *link = bpf_program__attach(prog);
		int loaded = bpf_program__fd(prog) >= 0;
		if (!link)
			link = NULL; /* libbpf 1.x returns NULL and sets errno on failure */
		links[nprogs] = link;
		int err = link ? 0 : errno;
		struct bpf_prog_info info = {0};
		__u32 len = sizeof(info);
		if (loaded)
			bpf_obj_get_info_by_fd(bpf_program__fd(prog), &info, &len);
		printf("prog %s %s %s %s %u", bpf_program__name(prog), bpf_program__section_name(prog),
		       loaded ? "loaded" : "not-loaded", link ? "attached" : "left-to-loader", info.id);
		if (!link)
			printf(" %d", err);
		printf("\n");
		if (link && bpf_program__type(prog) == BPF_PROG_TYPE_TRACING &&
		    strncmp(bpf_program__section_name(prog), "iter/", 5) == 0)
			read_iter(link, bpf_program__name(prog));
		nprogs++;
	}
	struct bpf_map *map;
	bpf_object__for_each_map(map, obj) {
		struct bpf_map_info info = {0};
		__u32 len = sizeof(info);
		bpf_obj_get_info_by_fd(bpf_map__fd(map), &info, &len);
		printf("map %s %u\n", bpf_map__name(map), info.id);
	}
	fflush(stdout);
	if (wait_stdin) {
		char line[16];
		printf("ready\n");
		fflush(stdout);
		if (!fgets(line, sizeof(line), stdin))
			line[0] = 0;
	}
	if (child) {
		if (write(pipefd[1], "x", 1) != 1)
			printf("release failed\n");
		close(pipefd[1]);
		pipefd[1] = -1;
		waitpid(child, &status, 0);
		child = 0;
		printf("child exited %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	}
	for (int i = 0; i < ndumps; i++)
		dump_map(obj, dumps[i]);
	rc = 0;
	for (int i = 0; i < nprogs; i++)
		bpf_link__destroy(links[i]);
close:
	bpf_object__close(obj);
out:
	if (child) {
		close(pipefd[1]);
		waitpid(child, &status, 0);
	}
	printf("closed\n");
	return rc;
}
