/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * version.h - the Nextcloud release refx speaks (status.php, capabilities)
 * and refx's own version.  Clients branch on the Nextcloud version, so it
 * follows the release whose wire format refx implements (34.0.1).
 */
#ifndef APP_VERSION_H
#define APP_VERSION_H

#define NC_VERSION		"34.0.1.2"
#define NC_VERSIONSTRING	"34.0.1"
#define NC_MAJOR		34
#define NC_MINOR		0
#define NC_MICRO		1
#define REFX_PRODUCTNAME	"refx"
#define REFX_VERSION		"0.1.0"

#endif
