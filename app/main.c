/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * refx-fcgi - the FastCGI worker.  N threads accept on one socket, each with
 * its own arena and PostgreSQL connection.  Signals are blocked in every
 * thread and taken by sigwait in main: SIGTERM/SIGINT stop accepting, let
 * in-flight requests finish, then exit (libfcgi's own handler would wake
 * only one thread).  Nothing is kept between requests but the connection.
 */
#define _DEFAULT_SOURCE
#include <errno.h>
#include <fcgiapp.h>
#include <grp.h>
#include <liboath/oath.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "app.h"
#include "metrics.h"
#include "core/arena.h"
#include "core/conf.h"
#include "core/ctx.h"
#include "core/log.h"
#include "db/db.h"
#include "tmpl/tmpl.h"
#include "jx/jx.h"
#include "i18n/i18n.h"

struct worker {
	pthread_t		 tid;
	int			 id;
	int			 listen_fd;
	const struct conf	*conf;
	const char		*db_password;
	const struct tmpl_set	*tmpl;
	const struct i18n	*i18n;
};

/*
 * Give the pages of the malloc heaps' free holes back to the system at
 * most once a second, by whichever thread finishes a request first.  glibc
 * trims a heap only above its last block in use; after a soak, the two
 * heaps of an idle worker held 13 MB free in a few hundred holes below
 * small blocks still in use (malloc_info), all of it resident until
 * malloc_trim(0), which holds each arena's lock while it walks the holes.
 */
static _Atomic int64_t	 last_trim_us;

static void
trim_heaps(void)
{
	int64_t	 now = log_now_us(), prev = atomic_load(&last_trim_us);

	if (now - prev >= 1000000 &&
	    atomic_compare_exchange_strong(&last_trim_us, &prev, now))
		(void)malloc_trim(0);
}

static void *
worker_main(void *arg)
{
	struct worker	*w = arg;
	struct arena	*a = arena_new(64 * 1024);
	struct db	*db = db_open(w->conf->db_conninfo, w->db_password,
			    w->conf->db_statement_timeout_ms);
	FCGX_Request	 r;

	jx_use_arena(a);	/* a request's JSON values die with it */
	if (FCGX_InitRequest(&r, w->listen_fd, 0) != 0) {
		log_err(NULL, "worker %d: FCGX_InitRequest failed", w->id);
		return NULL;
	}
	while (FCGX_Accept_r(&r) >= 0) {
		struct ctx	 c;

		memset(&c, 0, sizeof(c));
		c.arena = a;
		c.conf = w->conf;
		c.db = db;
		c.tmpl = w->tmpl;
		c.i18n = w->i18n;
		metrics_busy(1);
		app_dispatch(&c, &r);
		FCGX_Finish_r(&r);
		metrics_busy(-1);
		arena_reset(a);
		trim_heaps();
	}
	FCGX_Free(&r, 1);
	db_close(db);
	jx_use_arena(NULL);
	arena_free(a);
	return NULL;
}

static int
open_socket(const struct conf *conf)
{
	const char	*path = conf->listen;
	bool		 is_unix = strchr(path, ':') == NULL;
	int		 fd;

	if (is_unix) {
		struct stat	 st;

		/* A socket left by a killed worker would make bind fail. */
		if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
			(void)unlink(path);
	}
	fd = FCGX_OpenSocket(path, 128);
	if (fd < 0) {
		log_err(NULL, "cannot listen on %s: %s", path, strerror(errno));
		return -1;
	}
	if (is_unix) {
		if (conf->listen_group[0] != '\0') {
			struct group	*g = getgrnam(conf->listen_group);

			if (g == NULL || chown(path, (uid_t)-1, g->gr_gid) != 0) {
				log_err(NULL, "cannot give %s to group %s",
				    path, conf->listen_group);
				return -1;
			}
		}
		if (chmod(path, (mode_t)conf->listen_mode) != 0) {
			log_err(NULL, "cannot chmod %s: %s", path,
			    strerror(errno));
			return -1;
		}
	}
	return fd;
}

static void
usage(void)
{
	fprintf(stderr, "usage: refx-fcgi [-n] [-c config]\n"
	    "  -c FILE  configuration file (default $REFX_CONFIG or "
	    "/etc/refx/refx.conf)\n"
	    "  -n       check the configuration and exit\n");
}

int
main(int argc, char **argv)
{
	const char	*path = getenv("REFX_CONFIG");
	struct conf	 conf;
	struct worker	*workers;
	struct tmpl_set	*tmpl = NULL;
	struct i18n	*i18n = NULL;
	char		 err[1024];
	const char	*dbpw = NULL;
	enum log_level	 lvl;
	sigset_t	 set;
	int		 opt, check = 0, fd, sig;

	jx_init();

	if (path == NULL)
		path = "/etc/refx/refx.conf";
	while ((opt = getopt(argc, argv, "c:nh")) != -1) {
		switch (opt) {
		case 'c':
			path = optarg;
			break;
		case 'n':
			check = 1;
			break;
		default:
			usage();
			return 2;
		}
	}
	if (conf_load(path, &conf, err, sizeof(err)) != 0) {
		fprintf(stderr, "refx-fcgi: %s\n", err);
		return 1;
	}
	if (check) {
		if (tmpl_load(conf.arena, conf.templates_dir, &tmpl, err,
		    sizeof(err)) != 0 || i18n_load(conf.arena, conf.locale_dir,
		    &i18n, err, sizeof(err)) != 0) {
			fprintf(stderr, "refx-fcgi: templates: %s\n", err);
			conf_free(&conf);
			return 1;
		}
		printf("configuration OK: %s\n", path);
		conf_free(&conf);
		return 0;
	}
	if (log_level_parse(conf.log_level, &lvl) == 0)
		log_set_level(lvl);
	if (conf.db_password_file[0] != '\0') {
		dbpw = conf_read_secret(conf.arena, conf.db_password_file, 1024,
		    err, sizeof(err));
		if (dbpw == NULL) {
			fprintf(stderr, "refx-fcgi: [database] password_file: "
			    "%s\n", err);
			return 1;
		}
	}
	/* Block signals before any thread exists so all inherit the mask. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (oath_init() != OATH_OK) {
		log_err(NULL, "liboath initialisation failed");
		return 1;
	}
	if (FCGX_Init() != 0) {
		log_err(NULL, "FCGX_Init failed");
		return 1;
	}
	if (tmpl_load(conf.arena, conf.templates_dir, &tmpl, err,
	    sizeof(err)) != 0) {
		fprintf(stderr, "refx-fcgi: templates: %s\n", err);
		return 1;
	}
	if (i18n_load(conf.arena, conf.locale_dir, &i18n, err,
	    sizeof(err)) != 0) {
		fprintf(stderr, "refx-fcgi: message catalogs: %s\n", err);
		return 1;
	}
	if ((fd = open_socket(&conf)) < 0)
		return 1;
	/*
	 * Keep the malloc heaps small and steady under mixed traffic
	 * (bench/soak.py; docs/security.md): two arenas for all threads
	 * instead of one per thread, and blocks of 256 KiB and more (chunk
	 * results of 1 MiB, upload buffers) always mapped and unmapped on
	 * their own - glibc's adaptive threshold otherwise moves them into
	 * the heaps, where small long-lived blocks settle into their holes.
	 */
	(void)mallopt(M_ARENA_MAX, 2);
	(void)mallopt(M_MMAP_THRESHOLD, 256 * 1024);
	if (metrics_init(app_routes, app_nroutes, (int)conf.threads) != 0) {
		log_err(NULL, "out of memory");
		return 1;
	}
	workers = calloc((size_t)conf.threads, sizeof(*workers));
	if (workers == NULL)
		return 1;
	for (int i = 0; i < conf.threads; i++) {
		workers[i].id = i;
		workers[i].listen_fd = fd;
		workers[i].conf = &conf;
		workers[i].db_password = dbpw;
		workers[i].tmpl = tmpl;
		workers[i].i18n = i18n;
		if (pthread_create(&workers[i].tid, NULL, worker_main,
		    &workers[i]) != 0) {
			log_err(NULL, "cannot start thread %d", i);
			return 1;
		}
	}
	log_info(NULL, "refx-fcgi listening on %s with %lld threads",
	    conf.listen, (long long)conf.threads);
	for (;;) {
		if (sigwait(&set, &sig) != 0)
			continue;
		if (sig == SIGHUP)
			continue;	/* nothing to reload: config is read once */
		break;
	}
	log_info(NULL, "signal %d: finishing in-flight requests", sig);
	FCGX_ShutdownPending();
	shutdown(fd, SHUT_RDWR);
	for (int i = 0; i < conf.threads; i++)
		pthread_join(workers[i].tid, NULL);
	close(fd);
	if (strchr(conf.listen, ':') == NULL)
		(void)unlink(conf.listen);
	free(workers);
	log_info(NULL, "stopped");
	conf_free(&conf);
	return 0;
}
