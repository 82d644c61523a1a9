import os
import sys

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.text import slugify

from audit.services import COMMAND
from config.selectors import field_specs_for_instance
from projects.management.schedule_options import schedule_arguments, schedule_options_apply
from projects.models import JiraInstance
from syncing.instance_settings import instance_save
from syncing.site.connection_test import instance_check_unsaved
from syncing.site.jql_validation import instance_jql_parse_problems


class Command(BaseCommand):
    help = (
        "Add (or update) a Jira instance. The token never goes on the command line: "
        "name an environment variable holding it (--token-env) or pipe it in (--token-stdin). "
        "The connection is tested first, and nothing is saved when it fails (unless --no-check)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name")
        parser.add_argument("url", help="the site's root, e.g. https://example.atlassian.net")
        parser.add_argument("--slug", help="defaults to the name, slugified")
        parser.add_argument("--auth", choices=["basic", "bearer"], default="basic")
        parser.add_argument("--username", default="", help="account email (Cloud) or username (basic auth)")
        source = parser.add_mutually_exclusive_group(required=True)
        source.add_argument("--token-env", metavar="VAR", help="environment variable that holds the token")
        source.add_argument("--token-stdin", action="store_true", help="read the token from standard input")
        parser.add_argument("--flavour", choices=["auto", "cloud", "datacenter"], default="auto")
        parser.add_argument("--budget", type=float, help="requests per second (default 10)")
        parser.add_argument(
            "--enable-new-projects", action="store_true", help="projects found by discovery start enabled"
        )
        parser.add_argument(
            "--jql-filter",
            help="extra JQL ANDed to every sync query (checked: balanced, and by Jira's parser on Cloud)",
        )
        parser.add_argument(
            "--allow-insecure-http",
            action="store_true",
            help="accept a plain http:// URL to another machine (the token then crosses the network unencrypted)",
        )
        parser.add_argument(
            "--no-check",
            action="store_true",
            help="save without testing the connection (Jira is down, or not reachable from here yet)",
        )
        schedule_arguments(parser)

    def handle(self, *args, **options) -> None:
        token = self._token(options)
        slug = options["slug"] or slugify(options["name"]).replace("-", "_")
        instance = JiraInstance.objects.filter(slug=slug).first() or JiraInstance(slug=slug)
        if instance.being_deleted:
            raise CommandError(f"{instance.name} ({slug}) is being deleted: add it again once it is gone")
        created = instance.pk is None
        instance.name = options["name"]
        instance.base_url = options["url"].rstrip("/")
        instance.auth_kind = options["auth"]
        instance.username = options["username"]
        instance.flavour = options["flavour"]
        instance.enable_new_projects = options["enable_new_projects"] or instance.enable_new_projects
        instance.allow_insecure_http = options["allow_insecure_http"]
        if options["budget"]:
            instance.request_budget = options["budget"]
        if options["jql_filter"] is not None:
            instance.jql_filter = options["jql_filter"].strip()
        schedule_options_apply(instance, options)
        if instance.auth_kind == "basic" and not instance.username:
            raise CommandError("--username is required with --auth basic")
        self._check_jql_filter(instance, token)
        note = "saved without a connection test" if options["no_check"] else self._check_connection(instance, token)
        try:
            instance_save(instance=instance, actor=COMMAND, token=token, note=note)
        except ValidationError as exc:
            problems = "; ".join(f"{field}: {', '.join(errors)}" for field, errors in exc.message_dict.items())
            raise CommandError(problems) from None
        verb = "added" if created else "updated"
        self.stdout.write(self.style.SUCCESS(f"{verb} Jira instance {instance.name!r} (slug {instance.slug})"))

    def _check_jql_filter(self, instance: JiraInstance, token: str) -> None:
        """Jira's parser, where it has one, before anything is saved (the local check runs at the save)."""
        if not instance.jql_filter:
            return
        problems = instance_jql_parse_problems(self._unsaved(instance, token), instance.jql_filter)
        if problems:
            raise CommandError(f"jql_filter: Jira's JQL parser refuses it: {'; '.join(problems)}")

    def _check_connection(self, instance: JiraInstance, token: str) -> str:
        """The connection tested with what was given, before anything is saved; CommandError when it fails.

        Returns the note for the audit entry. A URL the save refuses is not tested (the save says why)."""
        unsaved = self._unsaved(instance, token)
        report = instance_check_unsaved(unsaved, field_specs_for_instance(instance.slug))
        if report is None:
            return ""
        if not report.ok:
            raise CommandError(f"the connection test failed: {report.problem} (--no-check saves it anyway)")
        for line in report.lines():
            self.stdout.write(f"  {line}")
        instance.detected_flavour, instance.time_zone = unsaved.detected_flavour, unsaved.time_zone
        return f"connection tested: {report.flavour} {report.version}, {len(report.projects)} projects visible"

    def _unsaved(self, instance: JiraInstance, token: str) -> JiraInstance:
        """A copy of the instance as given, not saved, carrying the token for the URL it names."""
        unsaved = JiraInstance(
            name=instance.name,
            slug=instance.slug,
            base_url=instance.base_url,
            auth_kind=instance.auth_kind,
            username=instance.username,
            flavour=instance.flavour,
            allow_insecure_http=instance.allow_insecure_http,
        )
        unsaved.set_token(token)
        return unsaved

    def _token(self, options: dict) -> str:
        if options["token_env"]:
            token = os.environ.get(options["token_env"], "")
            if not token:
                raise CommandError(f"environment variable {options['token_env']} is empty or not set")
            return token.strip()
        token = sys.stdin.readline().strip()
        if not token:
            raise CommandError("no token on standard input")
        return token
