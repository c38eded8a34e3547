<%@ Page Language="C#" %>
<%
// Loads the site's own plug-in from its bin folder.
var asm = System.Reflection.Assembly.LoadFrom(Server.MapPath("~/bin/Plugins.dll"));
var t = asm.GetType("Plugins.Banner");
Response.Write(System.Activator.CreateInstance(t));
%>
