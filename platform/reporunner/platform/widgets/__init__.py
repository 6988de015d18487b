"""Embeddable chat widgets: admin CRUD, exact-origin checks, signed visitor tokens, and the
visitor's chat turns of the widget's one workflow."""

from reporunner.platform.widgets.origins import normalise_origin, origin_allowed, validate_origins
from reporunner.platform.widgets.schemas import (
    PublicMessage,
    VisitorHistory,
    VisitorMessageIn,
    VisitorOut,
    WidgetColors,
    WidgetConfig,
    WidgetCreate,
    WidgetOut,
    WidgetPage,
    WidgetUpdate,
)
from reporunner.platform.widgets.service import (
    create_widget,
    delete_widget,
    get_widget,
    list_widgets,
    new_visitor_thread,
    public_config,
    public_widget,
    start_visitor_turn,
    update_widget,
    visitor_history,
)
from reporunner.platform.widgets.visitors import (
    Visitor,
    VisitorTokenInvalid,
    sign_visitor,
    verify_visitor,
)

__all__ = [
    "PublicMessage",
    "Visitor",
    "VisitorHistory",
    "VisitorMessageIn",
    "VisitorOut",
    "VisitorTokenInvalid",
    "WidgetColors",
    "WidgetConfig",
    "WidgetCreate",
    "WidgetOut",
    "WidgetPage",
    "WidgetUpdate",
    "create_widget",
    "delete_widget",
    "get_widget",
    "list_widgets",
    "new_visitor_thread",
    "normalise_origin",
    "origin_allowed",
    "public_config",
    "public_widget",
    "sign_visitor",
    "start_visitor_turn",
    "update_widget",
    "validate_origins",
    "verify_visitor",
    "visitor_history",
]
