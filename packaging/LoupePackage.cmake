# The Debian package `loupe`, built from the install rules (cmake/LoupeInstall.cmake) by CPack:
#   cpack --config build/<preset>/CPackConfig.cmake -G DEB
# Everything lands under /usr (the config file under /etc/loupe, a conffile); library
# dependencies come from dpkg-shlibdeps; the maintainer scripts in packaging/debian create the
# loupe system user and never start a service (tests/install/test_deb_package.py installs it).
set(LOUPE_PACKAGE_MAINTAINER "Loupe maintainers <maintainers@loupe.invalid>"
    CACHE STRING "Maintainer field of the Debian package")

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME loupe)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "computer-vision training data platform (daemon, workers, web UI, CLI)")
set(CPACK_PACKAGE_DESCRIPTION "Loupe stores images, videos and medical volumes, lets teams annotate them in the
browser, routes items through review workflows, runs models and exports to the formats
ML training reads. This package holds louped (REST API and web UI), loupe-worker,
loupe-decoder, the loupe command-line client and their systemd units. It needs a
PostgreSQL 15 database and a RabbitMQ broker.")
# Installed with DESTDIR=<staging tree> and the prefix /usr, so that the install script sees the
# real prefix (the config file then goes to /etc/loupe) and lands inside the package.
set(CPACK_SET_DESTDIR ON)
set(CPACK_INSTALL_PREFIX /usr)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${LOUPE_PACKAGE_MAINTAINER}")
set(CPACK_DEBIAN_PACKAGE_SECTION misc)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# Added to what dpkg-shlibdeps finds: the postinst's useradd/groupadd.
set(CPACK_DEBIAN_PACKAGE_DEPENDS "passwd")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "postgresql (>= 15), rabbitmq-server")
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${PROJECT_SOURCE_DIR}/packaging/debian/postinst
    ${PROJECT_SOURCE_DIR}/packaging/debian/prerm
    ${PROJECT_SOURCE_DIR}/packaging/debian/postrm
    ${PROJECT_SOURCE_DIR}/packaging/debian/conffiles)
include(CPack)
